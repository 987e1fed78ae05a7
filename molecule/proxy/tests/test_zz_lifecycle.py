"""Renewal, broken input and DNS catching up: these re-run the role (last, by name)."""

import pytest
from scenario import PROXIES, add_a_record, converge, curl, failures, served_serial

BROKEN_DIRECTIVE = {"nginx_extra": ["this_is_not_a_directive on;"], "caddy_extra": ["this_is_not_a_directive on"]}


def config_digest(proxy) -> str:
    paths = "/etc/nginx/sites-enabled/ /etc/nginx/sites-available/" if proxy.server == "nginx" else "/etc/caddy/"
    return proxy.host.run(f"find {paths} -type f -o -type l | sort | xargs -r cat | sha256sum").stdout


def test_nginx_renewal_is_picked_up_without_a_manual_reload(nginx):
    name = nginx.domain("shop")
    before = served_serial(nginx, name)
    renew = nginx.host.run(
        "REQUESTS_CA_BUNDLE=/etc/seaworthy-proxy/acme-ca-root.pem "
        "certbot renew --force-renewal --cert-name shop --no-random-sleep-on-renew --non-interactive"
    )
    assert renew.rc == 0, renew.stderr
    after = served_serial(nginx, name)
    assert before.startswith("serial=")
    assert after.startswith("serial=")
    assert after != before
    assert after == nginx.host.run("openssl x509 -noout -serial -in /etc/letsencrypt/live/shop/cert.pem").stdout.strip()


def test_certbot_timer_renews(nginx):
    assert nginx.host.service("certbot.timer").is_enabled
    assert nginx.host.service("certbot.timer").is_running
    dropin = nginx.host.file("/etc/systemd/system/certbot.service.d/seaworthy-acme-ca.conf")
    assert "REQUESTS_CA_BUNDLE=" in dropin.content_string


@pytest.fixture(scope="module")
def broken_run():
    before = {p.name: config_digest(p) for p in PROXIES}
    site = {"name": "broken", "domains": ["broken.example"], "upstream": "127.0.0.1:8080", **BROKEN_DIRECTIVE}
    rc, report = converge({"scenario_extra_sites": [site]}, "--tags", "proxy_sites")
    return before, rc, report


def test_a_broken_site_fails_and_the_old_config_keeps_serving(proxy, broken_run):
    before, rc, report = broken_run
    assert rc != 0
    assert report["stats"][proxy.name]["failures"] == 1
    assert any(
        "this_is_not_a_directive" in message or "validate" in message for message in failures(report, proxy.name)
    )
    assert config_digest(proxy) == before[proxy.name]
    result = curl(proxy, f"https://{proxy.domain('shop')}/", "-o", "/dev/null", "-w", "%{http_code}")
    assert result.stdout.strip() == "200"


def test_bad_upstream_syntax_fails_before_any_change(proxy):
    site = {"name": "bad", "domains": ["bad.example"], "upstream": "http://127.0.0.1:8080/"}
    rc, report = converge({"scenario_extra_sites": [site]}, "--limit", proxy.name)
    assert rc != 0
    stats = report["stats"][proxy.name]
    assert stats["failures"] == 1
    assert stats["changed"] == 0
    assert any("site 'bad'" in message for message in failures(report, proxy.name))


@pytest.fixture(scope="module")
def dns_caught_up():
    served_before = {
        p.name: curl(p, f"http://{p.domain('later')}/x", "-o", "/dev/null", "-w", "%{http_code}").stdout
        for p in PROXIES
    }
    for proxy in PROXIES:
        add_a_record(proxy.domain("later"), proxy.address)
    rc, report = converge(None, "--tags", "proxy_sites")
    return served_before, rc, report


def test_later_site_is_served_over_http_until_dns_points_here(proxy):
    # Before the fixture below runs: no certificate, plain HTTP, and the run said why.
    files = (
        "/etc/letsencrypt/live/later" if proxy.server == "nginx" else "/var/lib/caddy/.local/share/caddy/certificates"
    )
    assert "later" not in proxy.host.run(f"ls -R {files} 2>/dev/null").stdout
    result = curl(proxy, f"http://{proxy.domain('later')}/x", "-o", "/dev/null", "-w", "%{http_code}")
    assert result.stdout.strip() == "200"


def test_later_site_gets_its_certificate_once_dns_points_here(proxy, dns_caught_up):
    served_before, _rc, report = dns_caught_up
    assert served_before[proxy.name].strip() == "200"
    if proxy.server == "caddy" and report["stats"][proxy.name]["failures"]:
        journal = proxy.host.run("journalctl -u caddy --no-pager -n 50").stdout
        if "invalid Retry-After header" in journal:
            # Caddy 2.6's ACME client cannot parse the HTTP-date Retry-After Pebble 2.6 sends
            # when finalizing is slow (a loaded test machine); Let's Encrypt sends seconds.
            pytest.xfail("Pebble 2.6 / Caddy 2.6 Retry-After interop under load; the role reported the timeout")
    assert report["stats"][proxy.name]["failures"] == 0, failures(report, proxy.name)
    result = curl(proxy, f"https://{proxy.domain('later')}/x", "-v", "-o", "/dev/null", "-w", "%{http_code}")
    assert result.stdout.strip() == "200", result.stderr
    assert "Pebble Intermediate CA" in result.stderr
    redirect = curl(proxy, f"http://{proxy.domain('later')}/x", "-o", "/dev/null", "-w", "%{http_code}")
    assert redirect.stdout.strip() in ("301", "308")
