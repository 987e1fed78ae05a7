"""Issue 12: `site.yml` on inventories/local, from an empty account to the demo app over
HTTPS with a Pebble certificate; then a second run and a --check run change nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.site_run import run_site, site_env

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
DOMAIN = "demo.seaworthy.test"


@pytest.fixture(scope="module")
def runs(real_emulator, tmp_path_factory):
    env = site_env(real_emulator, tmp_path_factory.mktemp("credentials"))
    env["SEAWORTHY_VPC_IP_RANGE"] = "10.231.0.0/20"  # apart from a running `make demo`
    first = run_site(real_emulator, env)
    print(f"\nsite.yml first run: {first.seconds:.0f} s, {first.api_calls} API calls, {first.ssh_tasks} SSH tasks")
    assert first.rc == 0, first.failures() or first.stderr or first.stdout_tail
    second = run_site(real_emulator, env)
    print(f"site.yml second run: {second.seconds:.0f} s, {second.api_calls} API calls, {second.ssh_tasks} SSH tasks")
    check = run_site(real_emulator, env, "local", "--check")
    return {"env": env, "first": first, "second": second, "check": check}


@pytest.fixture(scope="module")
def droplet_ip(real_emulator, runs):
    import pydo

    client = pydo.Client(
        token=real_emulator.token, endpoint=real_emulator.url, connection_verify=str(real_emulator.ca_bundle)
    )
    droplets = client.droplets.list(tag_name="env:local")["droplets"]
    assert [d["name"] for d in droplets] == ["demo-local-web-1"]
    return next(n["ip_address"] for n in droplets[0]["networks"]["v4"] if n["type"] == "public")


def https(runs, ip, path="/", data=None):
    cmd = ["curl", "-sS", "--max-time", "20", "--fail-with-body", "--cacert", runs["env"]["SEAWORTHY_ACME_ROOT"]]
    cmd += ["--resolve", f"{DOMAIN}:443:{ip}", f"https://{DOMAIN}{path}"]
    if data is not None:
        cmd += ["-X", "POST", "--data-raw", data]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return json.loads(proc.stdout)


def test_the_app_answers_over_https_with_a_pebble_certificate(runs, droplet_ip):
    assert https(runs, droplet_ip, "/")["version"] == "1"
    pem = subprocess.run(
        ["openssl", "s_client", "-connect", f"{droplet_ip}:443", "-servername", DOMAIN],
        input="",
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    ).stdout
    issuer = subprocess.run(
        ["openssl", "x509", "-noout", "-issuer"], input=pem, capture_output=True, text=True, check=False
    ).stdout
    assert "Pebble" in issuer, issuer


def test_the_database_keeps_data_written_through_the_app(runs, droplet_ip):
    https(runs, droplet_ip, "/notes", data="written by the e2e test")
    assert "written by the e2e test" in https(runs, droplet_ip, "/notes")["notes"]


def test_root_cannot_log_in_over_ssh(runs, droplet_ip):
    key = runs["env"]["SEAWORTHY_CREDENTIALS_DIR"] + "/id_ed25519"
    base = [
        "ssh",
        "-i",
        key,
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
    ]
    assert subprocess.run([*base, f"root@{droplet_ip}", "true"], capture_output=True, check=False).returncode != 0
    assert subprocess.run([*base, f"deploy@{droplet_ip}", "true"], capture_output=True, check=False).returncode == 0


def test_a_backup_lands_in_the_s3_server(runs, droplet_ip, real_emulator):
    import boto3

    key = runs["env"]["SEAWORTHY_CREDENTIALS_DIR"] + "/id_ed25519"
    ssh = [
        "ssh",
        "-i",
        key,
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        f"deploy@{droplet_ip}",
    ]
    started = subprocess.run(
        [*ssh, "sudo systemctl start seaworthy-backup@database.service"], capture_output=True, text=True, check=False
    )
    assert started.returncode == 0, started.stderr
    credentials = json.loads((Path(runs["env"]["SEAWORTHY_CREDENTIALS_DIR"]) / "spaces-admin.json").read_text())
    s3 = boto3.client(
        "s3",
        endpoint_url=runs["env"]["DIGITALOCEAN_SPACES_ENDPOINT"],
        region_name="nyc3",
        aws_access_key_id=credentials["access_key"],
        aws_secret_access_key=credentials["secret_key"],
        verify=runs["env"]["AWS_CA_BUNDLE"],
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="demo-local-backups").get("Contents", [])]
    assert any("/database/" in k for k in keys), keys


def test_a_second_run_changes_nothing(runs):
    second = runs["second"]
    assert second.rc == 0, second.failures()
    assert second.changed == 0, second.changed_tasks()


def test_check_mode_on_the_converged_stack_changes_nothing(runs):
    check = runs["check"]
    assert check.rc == 0, check.failures()
    assert check.changed == 0, check.changed_tasks()
