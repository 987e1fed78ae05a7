"""Issue 4: domains made through the API resolve (EMULATOR_BACKING=docker), and Pebble issues real certificates."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from tests.emulator.backends.docker_dns import resolve
from tests.support.droplets import ready_for_ssh, trust_emulator_ca

from .test_docker_droplets import SIZE, address, ssh, wait_active

pytestmark = pytest.mark.docker

DOMAIN = "seaworthy-shop.test"
NULLS = {
    "flags": None,
    "tag": None,
}  # the spec requires them on TXT records (see tests/integration/emulator/test_domains.py)


@pytest.fixture(scope="module")
def dns_server(docker_emulator):
    return docker_emulator.services["dns"]["server"]


@pytest.fixture(scope="module")
def web(docker_client, ssh_key):
    key = docker_client.ssh_keys.create({"name": "dns", "public_key": ssh_key.with_suffix(".pub").read_text()})
    droplet = docker_client.droplets.create({"name": "shop-1", "ssh_keys": [key["ssh_key"]["id"]], **SIZE})["droplet"]
    return ready_for_ssh(ssh_key, address(wait_active(docker_client, droplet["id"])))


@pytest.fixture(scope="module")
def domain(docker_client, web):
    docker_client.domains.create({"name": DOMAIN, "ip_address": web})
    docker_client.domains.create_record(DOMAIN, {"type": "A", "name": "www", "data": web, "ttl": 60})
    return DOMAIN


def test_api_records_resolve_at_the_dns_server(docker_client, domain, web, dns_server):
    assert resolve(dns_server, domain) == (0, [web])
    assert resolve(dns_server, f"www.{domain}") == (0, [web])
    docker_client.domains.create_record(domain, {"type": "CNAME", "name": "shop", "data": f"www.{domain}."})
    docker_client.domains.create_record(domain, {"type": "TXT", "name": "_check", "data": 'say "hi"', **NULLS})
    assert resolve(dns_server, f"shop.{domain}") == (0, [web])  # the CNAME followed
    assert resolve(dns_server, f"_check.{domain}", "TXT") == (0, ['say "hi"'])
    assert resolve(dns_server, f"nothing-here.{domain}")[0] == 3  # NXDOMAIN, as an authoritative zone says

    record = docker_client.domains.create_record(domain, {"type": "A", "name": "api", "data": "100.64.9.9"})
    assert resolve(dns_server, f"api.{domain}") == (0, ["100.64.9.9"])
    docker_client.domains.update_record(domain, record["domain_record"]["id"], {"type": "A", "data": "100.64.9.10"})
    assert resolve(dns_server, f"api.{domain}") == (0, ["100.64.9.10"])
    docker_client.domains.delete_record(domain, record["domain_record"]["id"])
    assert resolve(dns_server, f"api.{domain}")[0] == 3


def test_a_deleted_domain_stops_resolving(docker_client, dns_server):
    docker_client.domains.create({"name": "short-lived.test", "ip_address": "100.64.9.11"})
    assert resolve(dns_server, "short-lived.test") == (0, ["100.64.9.11"])
    docker_client.domains.delete("short-lived.test")
    assert resolve(dns_server, "short-lived.test")[1] == []


def test_droplets_resolve_through_it(ssh_key, domain, web):
    out = ssh(
        ssh_key, web, f"getent ahostsv4 www.{domain} | head -n1; getent ahostsv4 deb.debian.org >/dev/null && echo ok"
    )
    assert out.stdout.split()[0] == web, out.stdout
    assert out.stdout.strip().endswith("ok"), "names outside the emulator's zones still resolve (forwarded)"


def test_acme_is_advertised(docker_emulator):
    acme = docker_emulator.services["acme"]
    env = docker_emulator.client_env()
    assert env["SEAWORTHY_ACME_DIRECTORY"] == acme["directory"] and acme["directory"].endswith(":14000/dir")
    root = x509.load_pem_x509_certificate(Path(env["SEAWORTHY_ACME_ROOT"]).read_bytes())
    assert "Pebble Root CA" in root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert env["SEAWORTHY_DNS_SERVER"] == docker_emulator.services["dns"]["server"]


def test_certbot_in_a_droplet_gets_a_certificate_from_pebble(docker_emulator, ssh_key, domain, web):
    """http-01 for real: Pebble resolves www.<domain> through the emulator's DNS and fetches the token from the droplet."""
    trust_emulator_ca(ssh_key, web, docker_emulator.ca_cert)  # Pebble's own TLS is from the emulator's CA
    ssh(
        ssh_key,
        web,
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends certbot"
        " >/dev/null",
        timeout=600,
    )
    started = time.monotonic()
    run = ssh(
        ssh_key,
        web,
        "REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt certbot certonly --standalone --non-interactive "
        f"--agree-tos -m ops@{domain} --server {docker_emulator.services['acme']['directory']} -d www.{domain}",
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert time.monotonic() - started < 60
    chain = ssh(ssh_key, web, f"cat /etc/letsencrypt/live/www.{domain}/fullchain.pem").stdout
    leaf, intermediate = x509.load_pem_x509_certificates(chain.encode())[:2]
    names = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert names.get_values_for_type(x509.DNSName) == [f"www.{domain}"]
    assert "Pebble Intermediate CA" in leaf.issuer.rfc4514_string()
    leaf.verify_directly_issued_by(intermediate)
    root = x509.load_pem_x509_certificate(Path(docker_emulator.services["acme"]["root"]).read_bytes())
    intermediate.verify_directly_issued_by(root)  # the root the emulator published is the one that issued it
