"""seaworthy.digitalocean.spaces_key against the emulator, through real playbooks."""

from __future__ import annotations

import json


def key(register="k", **args):
    return {"name": register, "seaworthy.digitalocean.spaces_key": args, "register": register}


def keys_in(emulator):
    return list(emulator.state().get("spaces_keys", {}).values())


MEDIA = [{"bucket": "media", "permission": "readwrite"}]


def test_create_returns_the_secret_once_then_reconciles_and_deletes(emulator, play):
    mark = emulator.mark()
    check = play([key(name="app", grants=MEDIA)], check=True, diff=True)
    assert check.changed == 1 and check.result("k")["diff"]["after"]["grants"] == ["readwrite media"]
    assert emulator.writes(mark) == [] and keys_in(emulator) == []

    created = play([key(name="app", grants=MEDIA)], diff=True)
    assert created.rc == 0 and created.changed == 1, created.result("k")
    result = created.result("k")
    secret, access = result["key"]["secret_key"], result["key"]["access_key"]
    assert secret and access.startswith("DO")
    assert secret not in json.dumps(result["diff"])
    assert emulator.writes(mark)[0]["body"] == {"name": "app", "grants": MEDIA}

    mark = emulator.mark()
    again = play([key(name="app", grants=MEDIA)])
    assert again.changed == 0 and emulator.writes(mark) == []
    assert "secret_key" not in again.result("k")["key"], "DigitalOcean shows the secret only once"
    assert play([key(name="app", grants=MEDIA)], check=True).changed == 0

    more = [*MEDIA, {"bucket": "backups", "permission": "read"}]
    grown = play([key(name="app", grants=list(reversed(more)))], diff=True)
    assert grown.changed == 1 and grown.result("k")["diff"]["after"]["grants"] == ["read backups", "readwrite media"]
    assert grown.result("k")["key"]["access_key"] == access
    assert play([key(name="app", grants=more)]).changed == 0, "grants compare as a set"

    renamed = play([key(access_key=access, name="app-media")])
    assert renamed.changed == 1 and [k["name"] for k in keys_in(emulator)] == ["app-media"]

    mark = emulator.mark()
    refused = play([key(name="app-media", grants=[{"permission": "fullaccess"}])])
    assert refused.failed and "is a scoped key and cannot become a full-access one" in refused.result("k")["msg"]
    assert emulator.writes(mark) == []

    gone = play([key(name="app-media", state="absent")], diff=True)
    assert gone.changed == 1 and gone.result("k")["diff"]["before"]["access_key"] == access
    assert play([key(name="app-media", state="absent")]).changed == 0 and keys_in(emulator) == []


def test_bad_input_and_ambiguous_names(emulator, do_client, play):
    twins = [do_client.spaces_key.create({"name": "twin", "grants": MEDIA})["key"]["access_key"] for _ in range(2)]
    mark = emulator.mark()
    tasks = {
        "bucket": key(name="x", grants=[{"bucket": "Bad_Bucket", "permission": "read"}]),
        "mixed": key(name="x", grants=[{"permission": "fullaccess"}, {"bucket": "media", "permission": "read"}]),
        "full": key(name="x", grants=[{"bucket": "media", "permission": "fullaccess"}]),
        "grants": key(name="x"),
        "twin": key(name="twin", grants=MEDIA),
    }
    result = play([dict(t, name=k, register=k, ignore_errors=True) for k, t in tasks.items()])
    messages = {k: result.result(k)["msg"] for k in tasks}
    assert "'Bad_Bucket' is not a valid bucket name" in messages["bucket"]
    assert "cannot be mixed with per-bucket grants" in messages["mixed"]
    assert "its bucket must be empty, not 'media'" in messages["full"]
    assert "creating Spaces key 'x' needs grants" in messages["grants"]
    assert "ambiguous" in messages["twin"] and all(t in messages["twin"] for t in twins)
    assert emulator.writes(mark) == [] and len(keys_in(emulator)) == 2


def test_create_answered_500_is_not_duplicated(emulator, play):
    emulator.inject(method="POST", path="^/v2/spaces/keys$", status=500, after_commit=True)
    result = play([key(name="once", grants=MEDIA)])
    assert result.rc == 0, result.result("k")
    assert [k["name"] for k in keys_in(emulator)] == ["once"]
