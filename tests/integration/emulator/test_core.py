"""The emulator's cross-cutting behaviour: auth, TLS, pagination, rate limits, faults, contract, state."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pydo
import pytest
import requests
from azure.core.exceptions import ServiceResponseError

from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator


def _pubkey(n: int) -> str:
    # Distinct, well-formed ed25519 public keys (32-byte blobs), cheap to make.
    import base64
    import struct

    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + n.to_bytes(32, "big")
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} key{n}"


def api(emulator, method, path, token=None, **kwargs):
    headers = {"Authorization": f"Bearer {token or emulator.token}"}
    return requests.request(
        method, emulator.url + path, headers=headers, verify=str(emulator.ca_bundle), timeout=10, **kwargs
    )


def test_token_required_with_digitalocean_error_body(emulator):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = requests.get(
            emulator.url + "/v2/account", headers=headers, verify=str(emulator.ca_bundle), timeout=10
        )
        assert response.status_code == 401
        body = response.json()
        assert body["id"] == "Unauthorized" and body["message"] and body["request_id"]


def test_https_trusted_through_the_printed_ca_and_http_beside_it(emulator):
    # pydo/requests trusting the CA via the environment, as clients are told to.
    env_client = pydo.Client(token=emulator.token, endpoint=emulator.url)
    os.environ["REQUESTS_CA_BUNDLE"] = str(emulator.ca_bundle)
    try:
        assert env_client.account.get()["account"]["status"] == "active"
    finally:
        del os.environ["REQUESTS_CA_BUNDLE"]
    curl = subprocess.run(
        [
            "curl",
            "-sS",
            "--cacert",
            str(emulator.ca_cert),
            "-H",
            f"Authorization: Bearer {emulator.token}",
            emulator.url + "/v2/account",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"account"' in curl.stdout
    plain = requests.get(
        emulator.http_url + "/v2/account", headers={"Authorization": f"Bearer {emulator.token}"}, timeout=10
    )
    assert plain.status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emulator.url + "/v2/account", timeout=10, verify=True)  # system CAs alone do not trust it


def test_pagination_like_digitalocean(emulator, do_client):
    for n in range(45):
        do_client.ssh_keys.create({"name": f"k{n}", "public_key": _pubkey(n)})
    first = do_client.ssh_keys.list(per_page=20)
    assert len(first["ssh_keys"]) == 20 and first["meta"]["total"] == 45
    assert set(first["links"]["pages"]) == {"last", "next"}
    assert "page=3" in first["links"]["pages"]["last"] and "page=2" in first["links"]["pages"]["next"]
    last = do_client.ssh_keys.list(per_page=20, page=3)
    assert len(last["ssh_keys"]) == 5 and set(last["links"]["pages"]) == {"first", "prev"}
    everything = do_client.ssh_keys.list(per_page=200)
    assert len(everything["ssh_keys"]) == 45 and everything["links"]["pages"] == {}
    ids = [k["id"] for page in (1, 2, 3) for k in do_client.ssh_keys.list(per_page=20, page=page)["ssh_keys"]]
    assert len(set(ids)) == 45


@pytest.mark.spec_violations_expected
def test_per_page_over_200_is_invalid(emulator):
    response = api(emulator, "GET", "/v2/account/keys?per_page=500")
    assert response.status_code == 422
    assert response.json()["id"] == "unprocessable_entity"


def test_rate_limit_headers_on_every_response(emulator):
    response = api(emulator, "GET", "/v2/account")
    assert int(response.headers["ratelimit-limit"]) == 5000
    assert 0 <= int(response.headers["ratelimit-remaining"]) <= 5000
    assert int(response.headers["ratelimit-reset"]) > time.time()


def test_rate_limit_enforced_with_retry_after(tmp_path):
    config = EmulatorConfig.from_env(port=0, rate_per_minute=5, rate_per_hour=100, data_dir=tmp_path)
    with Emulator(config) as emulator:
        statuses = [api(emulator, "GET", "/v2/account") for _ in range(6)]
        assert [r.status_code for r in statuses] == [200] * 5 + [429]
        refused = statuses[-1]
        assert refused.json()["id"] == "too_many_requests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert emulator.violations() == []


def test_injected_5xx_then_recovery(emulator):
    emulator.inject(path="^/v2/account$", status=503, count=2)
    assert [api(emulator, "GET", "/v2/account").status_code for _ in range(3)] == [503, 503, 200]


def test_injected_429_carries_retry_after(emulator):
    emulator.inject(path="/v2/account", status=429, retry_after=3)
    response = api(emulator, "GET", "/v2/account")
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"


def test_create_succeeds_but_answers_500(emulator):
    emulator.inject(method="POST", path="^/v2/account/keys$", status=500, after_commit=True)
    response = api(emulator, "POST", "/v2/account/keys", json={"name": "trap", "public_key": _pubkey(1)})
    assert response.status_code == 500
    keys = api(emulator, "GET", "/v2/account/keys").json()["ssh_keys"]
    assert [k["name"] for k in keys] == ["trap"], "the create must have happened behind the 500"


def test_dropped_and_slow_responses(emulator):
    emulator.inject(path="^/v2/account$", drop=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        api(emulator, "GET", "/v2/account")
    emulator.inject(path="^/v2/account$", delay=0.5)
    started = time.perf_counter()
    assert api(emulator, "GET", "/v2/account").status_code == 200
    assert time.perf_counter() - started >= 0.5


def test_fault_and_retry_visible_in_the_request_log(emulator, do_client):
    """pydo's default policy retries a 429 honouring Retry-After; the log shows both attempts."""
    mark = emulator.mark()
    emulator.inject(method="POST", path="^/v2/account/keys$", status=429, retry_after=0)
    do_client.ssh_keys.create({"name": "k", "public_key": _pubkey(2)})
    attempts = [(r["method"], r["status"], r["fault"] is not None) for r in emulator.requests(mark)]
    assert attempts == [("POST", 429, True), ("POST", 201, False)]


def test_dropped_connection_reaches_pydo_as_an_error(emulator):
    client = pydo.Client(
        token=emulator.token, endpoint=emulator.url, connection_verify=str(emulator.ca_bundle), retry_total=0
    )
    emulator.inject(path="^/v2/account$", drop=True)
    with pytest.raises(ServiceResponseError):
        client.account.get()


def test_request_log_tells_reads_from_writes(emulator, do_client):
    mark = emulator.mark()
    do_client.ssh_keys.list()
    assert emulator.writes(mark) == []
    do_client.ssh_keys.create({"name": "logged", "public_key": _pubkey(3)})
    (write,) = emulator.writes(mark)
    assert write["method"] == "POST" and write["path"] == "/v2/account/keys" and write["status"] == 201
    assert write["body"]["name"] == "logged"


@pytest.mark.spec_violations_expected
def test_request_breaking_the_spec_is_refused_and_recorded(emulator):
    response = api(emulator, "POST", "/v2/account/keys", json={"name": "no key"})
    assert response.status_code == 422
    assert "public_key" in response.json()["message"]
    (violation,) = emulator.violations()
    assert violation["kind"] == "request" and violation["path"] == "/v2/account/keys"


def test_response_breaking_the_spec_is_recorded(emulator_server):
    """A handler bug (a response off the spec) is caught, not served silently."""
    app = emulator_server.app
    emulator_server.reset()
    with app.store.lock:
        app.store.put("ssh_keys", 1, {"id": "not-an-integer", "name": "broken"})
    api(emulator_server, "GET", "/v2/account/keys")
    violations = emulator_server.violations()
    emulator_server.reset()
    assert [v["kind"] for v in violations] == ["response"]
    assert "not-an-integer" in violations[0]["message"] or "public_key" in violations[0]["message"]


def test_state_file_survives_a_restart(tmp_path):
    config = EmulatorConfig.from_env(port=0, state_file=tmp_path / "state.json", data_dir=tmp_path, validate=False)
    with Emulator(config) as emulator:
        assert (
            api(emulator, "POST", "/v2/account/keys", json={"name": "kept", "public_key": _pubkey(4)}).status_code
            == 201
        )
    with Emulator(config) as emulator:
        keys = api(emulator, "GET", "/v2/account/keys").json()["ssh_keys"]
        assert [k["name"] for k in keys] == ["kept"]
        again = api(emulator, "POST", "/v2/account/keys", json={"name": "next", "public_key": _pubkey(5)}).json()
        assert again["ssh_key"]["id"] > keys[0]["id"], "id sequences continue after a restart"


def test_make_emulator_prints_where_it_is(tmp_path):
    env = {**os.environ, "EMULATOR_PORT": "0", "EMULATOR_DATA_DIR": str(tmp_path), "EMULATOR_TOKEN": "tok-1,tok-2"}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulator"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(5)]
        elapsed = time.perf_counter() - started
        text = "".join(lines)
        assert "https://127.0.0.1:" in lines[0] and "http://127.0.0.1:" in lines[0]
        assert "tok-1" in lines[1]
        assert str(tmp_path / "ca.pem") in lines[2]
        url = lines[0].split()[4]
        for token in ("tok-1", "tok-2"):
            response = requests.get(
                url + "/v2/account",
                headers={"Authorization": f"Bearer {token}"},
                verify=str(tmp_path / "bundle.pem"),
                timeout=5,
            )
            assert response.status_code == 200, text
        assert (tmp_path / "env").read_text().count("export ") == 5
        print(f"emulator process printed its URLs {elapsed:.2f} s after launch")
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_bad_settings_fail_clearly(tmp_path):
    env = {**os.environ, "EMULATOR_PORT": "0", "EMULATOR_DATA_DIR": str(tmp_path), "EMULATOR_RATELIMIT": "lots"}
    proc = subprocess.run([sys.executable, "-m", "tests.emulator"], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "EMULATOR_RATELIMIT" in proc.stderr
