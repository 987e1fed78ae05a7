"""seaworthy.digitalocean.ssh_key against the emulator, through real playbooks."""

from __future__ import annotations

import base64
import struct

import pytest

from tests.support.playbooks import run_tasks


def pubkey(n: int, comment: str = "ops") -> str:
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + n.to_bytes(32, "big")
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}"


def key_task(name="ops", public_key=None, state="present", register="key", **extra):
    args = {"name": name, "state": state, **extra}
    if public_key:
        args["public_key"] = public_key
    return {"name": register, "seaworthy.digitalocean.ssh_key": args, "register": register}


def test_create_idempotent_rename_delete(emulator, play):
    check = play([key_task(public_key=pubkey(1))], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1
    assert check.result("key")["diff"]["after"]["name"] == "ops"
    assert emulator.state().get("ssh_keys", {}) == {}, "check mode must not create"

    mark = emulator.mark()
    first = play([key_task(public_key=pubkey(1))])
    assert first.rc == 0 and first.changed == 1
    created = first.result("key")["ssh_key"]
    assert created["id"] and created["fingerprint"].count(":") == 15
    assert [w["method"] for w in emulator.writes(mark)] == ["POST"]

    mark = emulator.mark()
    second = play([key_task(public_key=pubkey(1))])
    assert second.rc == 0 and second.changed == 0
    assert emulator.writes(mark) == [], "an unchanged run makes no write call"
    assert len(emulator.requests(mark)) == 1, "one paginated list, nothing else"

    check_rename = play([key_task(name="ops-renamed", public_key=pubkey(1))], check=True, diff=True)
    assert check_rename.changed == 1
    assert check_rename.result("key")["diff"]["before"]["name"] == "ops"
    assert check_rename.result("key")["diff"]["after"]["name"] == "ops-renamed"

    rename = play([key_task(name="ops-renamed", public_key=pubkey(1))])
    assert rename.changed == 1 and rename.result("key")["ssh_key"]["id"] == created["id"]

    mark = emulator.mark()
    gone = play([key_task(name="ops-renamed", state="absent")])
    assert gone.changed == 1 and [w["method"] for w in emulator.writes(mark)] == ["DELETE"]
    again = play([key_task(name="ops-renamed", state="absent")])
    assert again.changed == 0


def test_finds_keys_beyond_the_first_page(emulator, do_client, play):
    for n in range(210):
        do_client.ssh_keys.create({"name": f"k{n}", "public_key": pubkey(1000 + n)})
    mark = emulator.mark()
    result = play([key_task(name="k209", public_key=pubkey(1209))])
    assert result.rc == 0 and result.changed == 0
    assert [r["query"] for r in emulator.requests(mark)] == ["per_page=200&page=1", "per_page=200&page=2"]


def test_ambiguous_name_fails_listing_ids(emulator, do_client, play):
    ids = [do_client.ssh_keys.create({"name": "twin", "public_key": pubkey(n)})["ssh_key"]["id"] for n in (7, 8)]
    result = play([key_task(name="twin", state="absent")])
    assert result.failed
    message = result.result("key")["msg"]
    assert "ambiguous" in message and all(str(i) in message for i in ids)
    assert len(emulator.state()["ssh_keys"]) == 2


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        (key_task(public_key="not a key"), "public_key is not an SSH public key"),
        (key_task(name=None, public_key=pubkey(3)), "needs both name and public_key"),
    ],
)
def test_bad_input_fails_clearly_and_creates_nothing(emulator, play, task, expected):
    result = play([task])
    assert result.failed and expected in result.result("key")["msg"]
    assert emulator.state().get("ssh_keys", {}) == {}


def test_missing_token_is_a_clear_error(emulator, tmp_path):
    env = {k: v for k, v in emulator.client_env().items() if k != "DIGITALOCEAN_TOKEN"}
    result = run_tasks([key_task(public_key=pubkey(4))], env, tmp_path)
    assert result.failed and "No DigitalOcean API token" in result.result("key")["msg"]


def test_wrong_token_reports_the_api_error(emulator, play):
    result = play([key_task(public_key=pubkey(5), token="wrong")])
    message = result.result("key")["msg"]
    assert result.failed and "HTTP 401" in message and "Unable to authenticate you" in message
    assert "Traceback" not in message


def test_create_answered_500_is_not_duplicated(emulator, play):
    emulator.inject(method="POST", path="^/v2/account/keys$", status=500, after_commit=True)
    result = play([key_task(public_key=pubkey(6))])
    assert result.rc == 0
    assert len(emulator.state()["ssh_keys"]) == 1
    posts = [r for r in emulator.requests() if r["method"] == "POST"]
    assert len(posts) == 1, "after a 500 the module looked the key up instead of re-sending the create"


def test_429_on_create_is_retried_after_retry_after(emulator, play):
    emulator.inject(method="POST", path="^/v2/account/keys$", status=429, retry_after=1, count=2)
    result = play([key_task(public_key=pubkey(7))])
    assert result.rc == 0 and len(emulator.state()["ssh_keys"]) == 1
    posts = [r for r in emulator.requests() if r["method"] == "POST"]
    assert [p["status"] for p in posts] == [429, 429, 201]
    assert posts[1]["at"] - posts[0]["at"] >= 1.0, "Retry-After was honoured"


def test_5xx_on_reads_are_retried(emulator, play):
    emulator.inject(method="GET", path="^/v2/account/keys$", status=503, count=2)
    result = play([key_task(public_key=pubkey(8))])
    assert result.rc == 0 and result.changed == 1


def test_module_defaults_group_reaches_the_module(emulator, tmp_path):
    """The token comes only from module_defaults for group/seaworthy.digitalocean.all."""
    env = {k: v for k, v in emulator.client_env().items() if k != "DIGITALOCEAN_TOKEN"}
    result = run_tasks(
        [key_task(public_key=pubkey(9))],
        env,
        tmp_path,
        module_defaults={"group/seaworthy.digitalocean.all": {"token": emulator.token}},
    )
    assert result.rc == 0 and result.changed == 1
