"""seaworthy.digitalocean.volume against the emulator, through real playbooks."""

from __future__ import annotations

import pytest

DROPLET = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}
BASE = {"name": "data", "region": "nyc3", "size_gigabytes": 10}


def volume(register="v", **args):
    return {"name": register, "seaworthy.digitalocean.volume": args, "register": register}


def volumes_in(emulator):
    return list(emulator.state().get("volumes", {}).values())


def test_create_attach_grow_move_detach_and_delete(emulator, do_client, play):
    web1, web2 = (do_client.droplets.create({"name": f"web-{n}", **DROPLET})["droplet"] for n in (1, 2))
    args = {**BASE, "filesystem_type": "ext4", "filesystem_label": "data", "tags": ["app"], "droplet": "web-1"}
    mark = emulator.mark()
    check = play([volume(**args)], check=True, diff=True)
    assert check.changed == 1 and check.result("v")["diff"]["after"]["droplet_ids"] == [web1["id"]]
    assert emulator.writes(mark) == [] and volumes_in(emulator) == []

    created = play([volume(**args)])
    assert created.rc == 0 and created.changed == 1, created.result("v")
    vol = created.result("v")["volume"]
    assert (vol["filesystem_type"], vol["filesystem_label"], vol["tags"]) == ("ext4", "data", ["app"])
    assert vol["droplet_ids"] == [web1["id"]]
    writes = emulator.writes(mark)
    assert [(w["method"], w["path"]) for w in writes] == [
        ("POST", "/v2/volumes"),
        ("POST", f"/v2/volumes/{vol['id']}/actions"),
    ]
    assert writes[1]["body"] == {"type": "attach", "droplet_id": web1["id"], "region": "nyc3"}

    mark = emulator.mark()
    assert play([volume(**args)]).changed == 0 and emulator.writes(mark) == []
    assert play([volume(**args)], check=True).changed == 0

    moved = {**args, "size_gigabytes": 20, "droplet": str(web2["id"]), "tags": ["app", "data"]}
    check = play([volume(**moved)], check=True, diff=True)
    diff = check.result("v")["diff"]
    assert check.changed == 1 and emulator.writes(mark) == []
    assert (diff["before"]["size_gigabytes"], diff["after"]["size_gigabytes"]) == (10, 20)
    assert diff["after"]["droplet_ids"] == [web2["id"]]
    done = play([volume(**moved)])
    assert done.rc == 0 and done.changed == 1, done.result("v")
    vol = done.result("v")["volume"]
    assert (vol["size_gigabytes"], vol["droplet_ids"], sorted(vol["tags"])) == (20, [web2["id"]], ["app", "data"])
    types = [w["body"].get("type") for w in emulator.writes(mark) if w["path"].endswith("/actions")]
    assert types == ["resize", "detach", "attach"]
    assert play([volume(**moved)]).changed == 0

    detached = play([volume(name="data", region="nyc3", droplet="")])
    assert detached.changed == 1 and detached.result("v")["volume"]["droplet_ids"] == []

    play([volume(name="data", region="nyc3", droplet="web-1")])
    mark = emulator.mark()
    gone = play([volume(name="data", region="nyc3", state="absent")], diff=True)
    assert gone.changed == 1 and gone.result("v")["diff"]["before"]["droplet_ids"] == [web1["id"]]
    assert [(w["method"], w["body"].get("type") if w["body"] else None) for w in emulator.writes(mark)] == [
        ("POST", "detach"),
        ("DELETE", None),
    ]
    assert play([volume(name="data", region="nyc3", state="absent")]).changed == 0 and volumes_in(emulator) == []


def test_cannot_shrink_or_reformat(emulator, play):
    assert play([volume(**BASE, filesystem_type="xfs")]).rc == 0
    mark = emulator.mark()
    result = play(
        [
            dict(volume(register="s", **{**BASE, "size_gigabytes": 5}), ignore_errors=True),
            volume(register="f", **BASE, filesystem_type="ext4"),
        ]
    )
    assert "size 10 GiB -> 5 GiB (volumes can only grow)" in result.result("s")["msg"]
    assert "filesystem_type xfs -> ext4" in result.result("f")["msg"]
    assert emulator.writes(mark) == []


def test_ambiguous_name_lists_the_ids(emulator, do_client, play):
    ids = [
        do_client.volumes.create({"name": "twin", "region": r, "size_gigabytes": 1})["volume"]["id"]
        for r in ("nyc3", "sfo3")
    ]
    result = play([volume(name="twin", size_gigabytes=2)])
    assert result.failed and all(i in result.result("v")["msg"] for i in ids)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"name": "Data_1"}, "volume name 'Data_1' is invalid"),
        ({"size_gigabytes": 20000}, "size_gigabytes must be between 1 and 16384"),
        ({"filesystem_type": "xfs", "filesystem_label": "much-too-long-label"}, "at most 12 characters"),
        ({"filesystem_label": "data"}, "filesystem_label needs filesystem_type"),
        ({"size_gigabytes": None}, "creating volume 'data' needs size_gigabytes"),
        ({"droplet": "ghost"}, "droplet 'ghost' not found in region nyc3"),
    ],
)
def test_bad_input_is_clear_and_creates_nothing(emulator, play, overrides, expected):
    args = {k: v for k, v in {**BASE, **overrides}.items() if v is not None}
    result = play([volume(**args)])
    assert result.failed and expected in result.result("v")["msg"]
    assert volumes_in(emulator) == []


@pytest.mark.spec_violations_expected
def test_unknown_region_surfaces_the_api_422(emulator, play):
    result = play([volume(**{**BASE, "region": "mars1"})])
    message = result.result("v")["msg"]
    assert result.failed and "volumes.create: HTTP 422 unprocessable_entity" in message and "Traceback" not in message
    assert volumes_in(emulator) == []


def test_create_answered_500_is_not_duplicated(emulator, play):
    emulator.inject(method="POST", path="^/v2/volumes$", status=500, after_commit=True)
    result = play([volume(**BASE)])
    assert result.rc == 0, result.result("v")
    assert len(volumes_in(emulator)) == 1
