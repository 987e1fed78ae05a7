"""The seeds' site shapes, checked from outside the droplets over real TLS."""

import json

import pytest
from scenario import CLIENT_ADDRESS, GRAFANA_PASSWORD, curl

WEBSOCKET = [
    "--http1.1",
    "-H",
    "Connection: Upgrade",
    "-H",
    "Upgrade: websocket",
    "-H",
    "Sec-WebSocket-Version: 13",
    "-H",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
]


def status(result) -> int:
    return int(result.stdout.strip()[-3:] or 0)


def test_https_with_a_certificate_from_pebble(proxy):
    result = curl(proxy, f"https://{proxy.domain('shop')}/", "-v", "-o", "/dev/null", "-w", "%{http_code}")
    assert result.rc == 0, result.stderr
    assert status(result) == 200
    assert "Pebble Intermediate CA" in result.stderr  # curl -v: "issuer: CN=Pebble Intermediate CA ..."


def test_http2(proxy):
    result = curl(proxy, f"https://{proxy.domain('shop')}/", "--http2", "-o", "/dev/null", "-w", "%{http_version}")
    assert result.stdout.strip() == "2"


def test_http_redirects_to_https(proxy):
    result = curl(
        proxy, f"http://{proxy.domain('shop')}/a/b?c=d", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"
    )
    code, location = result.stdout.split()
    assert code in ("301", "308")
    assert location == f"https://{proxy.domain('shop')}/a/b?c=d"


def test_www_redirects_to_the_apex(proxy):
    result = curl(
        proxy, f"https://{proxy.domain('www.shop')}/a?b=c", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"
    )
    code, location = result.stdout.split()
    assert code in ("301", "308")
    assert location == f"https://{proxy.domain('shop')}/a?b=c"


def test_security_headers(proxy):
    result = curl(proxy, f"https://{proxy.domain('shop')}/", "-o", "/dev/null", "-D", "-")
    headers = result.stdout.lower()
    assert "strict-transport-security: max-age=63072000" in headers
    assert "x-content-type-options: nosniff" in headers
    assert "x-frame-options: deny" in headers
    assert "referrer-policy: strict-origin-when-cross-origin" in headers
    assert "content-security-policy: default-src 'self'" in headers


def test_upstream_sees_the_client(proxy):
    result = curl(proxy, f"https://{proxy.domain('shop')}/hello")
    seen = json.loads(result.stdout)
    assert seen["path"] == "/hello"
    assert seen["headers"]["host"] == proxy.domain("shop")
    assert seen["headers"]["x-real-ip"] == CLIENT_ADDRESS
    assert CLIENT_ADDRESS in seen["headers"]["x-forwarded-for"]
    assert seen["headers"]["x-forwarded-proto"] == "https"


def test_websocket_upgrade(proxy):
    result = curl(proxy, f"https://{proxy.domain('shop')}/ws", *WEBSOCKET, "-o", "/dev/null", "-w", "%{http_code}")
    assert status(result) == 101, result.stderr


def test_spa_deep_link_returns_index(proxy):
    result = curl(proxy, f"https://{proxy.domain('app')}/orders/42/edit", "-w", "\n%{http_code}")
    assert "seaworthy-spa-index" in result.stdout
    assert status(result) == 200


def test_spa_api_reaches_the_upstream(proxy):
    result = curl(proxy, f"https://{proxy.domain('app')}/api/items?x=1")
    assert json.loads(result.stdout)["path"] == "/api/items?x=1"


def test_hashed_assets_are_cached_for_long(proxy):
    result = curl(proxy, f"https://{proxy.domain('app')}/assets/app.3f2a1b.js", "-D", "-")
    assert "seaworthy-spa-asset" in result.stdout
    assert "cache-control: public, max-age=31536000, immutable" in result.stdout.lower()
    assert "x-content-type-options: nosniff" in result.stdout.lower()  # not lost by the location's headers


def test_compression(proxy):
    result = curl(
        proxy,
        f"https://{proxy.domain('shop')}/{'x' * 600}",
        "-H",
        "Accept-Encoding: gzip",
        "-o",
        "/dev/null",
        "-D",
        "-",
    )
    assert "content-encoding: gzip" in result.stdout.lower()


def test_basic_auth_on_an_internal_tool(proxy):
    url = f"https://{proxy.domain('shop')}/grafana/"
    assert status(curl(proxy, url, "-o", "/dev/null", "-w", "%{http_code}")) == 401
    wrong = curl(proxy, url, "-u", "admin:wrong", "-o", "/dev/null", "-w", "%{http_code}")
    assert status(wrong) == 401
    right = curl(proxy, url, "-u", f"admin:{GRAFANA_PASSWORD}")
    assert json.loads(right.stdout)["port"] == 8081


def test_htpasswd_is_not_world_readable(proxy):
    mode = proxy.host.file("/etc/seaworthy-proxy/htpasswd/shop-2")
    assert mode.exists
    assert mode.mode == 0o640
    assert mode.user == "root"
    assert GRAFANA_PASSWORD not in mode.content_string


def test_rate_limit_on_public_endpoints(proxy):
    if proxy.server == "caddy":
        pytest.skip("Caddy as packaged by Debian has no rate-limit module (the role warns)")
    codes = [
        status(curl(proxy, f"https://{proxy.domain('shop')}/q/poll", "-o", "/dev/null", "-w", "%{http_code}"))
        for _attempt in range(15)
    ]
    assert 429 in codes
    assert codes[0] == 200


def test_ip_only_site_is_self_signed(proxy):
    # A client of https://<ip>/ sends no SNI: on nginx the IP-only site is the default server on 443.
    result = curl(proxy, f"https://{proxy.address}/", "-k", "-v", "-o", "/dev/null", "-w", "%{http_code}")
    assert status(result) == 200
    assert "Pebble" not in result.stderr


def test_unknown_names_get_nothing(proxy):
    if proxy.server == "caddy":
        pytest.skip("Caddy answers unknown names with an empty 200 / TLS alert by itself")
    result = curl(proxy, "http://unknown.example/", "-o", "/dev/null", "-w", "%{http_code}")
    assert result.rc != 0  # nginx closes the connection (444)
