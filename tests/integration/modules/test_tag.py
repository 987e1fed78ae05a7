"""seaworthy.digitalocean.tag against the emulator, through real playbooks."""

from __future__ import annotations

DROPLET = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}


def tag(register="t", ignore_errors=False, **args):
    task = {"name": register, "seaworthy.digitalocean.tag": args, "register": register}
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def droplet_ids(do_client, *names, tags=None):
    return [str(do_client.droplets.create({"name": n, "tags": tags or [], **DROPLET})["droplet"]["id"]) for n in names]


def tags_of(emulator, table, resource_id):
    return emulator.state()[table][str(resource_id)].get("tags") or []


def test_plain_tag_create_check_idempotent_delete(emulator, play):
    mark = emulator.mark()
    check = play([tag(name="prod")], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.result("t")["diff"]["after"] == {"name": "prod"}
    assert emulator.writes(mark) == [] and "prod" not in emulator.state().get("tags", {})

    created = play([tag(name="prod")])
    assert created.changed == 1 and created.result("t")["tag"]["name"] == "prod"
    assert [(w["method"], w["path"], w["body"]) for w in emulator.writes(mark)] == [
        ("POST", "/v2/tags", {"name": "prod"})
    ]

    mark = emulator.mark()
    again = play([tag(name="prod")])
    assert again.changed == 0 and emulator.writes(mark) == []
    assert [r["path"] for r in emulator.requests(mark)] == ["/v2/tags/prod"]
    assert play([tag(name="prod")], check=True).changed == 0

    check_gone = play([tag(name="prod", state="absent")], check=True, diff=True)
    assert check_gone.changed == 1 and check_gone.result("t")["diff"]["before"] == {"name": "prod"}
    assert emulator.writes(mark) == []
    gone = play([tag(name="prod", state="absent")])
    assert gone.changed == 1 and [w["method"] for w in emulator.writes(mark)] == ["DELETE"]
    assert play([tag(name="prod", state="absent")]).changed == 0


def test_resources_are_tagged_and_purged_through_the_add_remove_endpoints(emulator, do_client, play):
    d1, d2, d3 = droplet_ids(do_client, "d1", "d2", "d3")
    volume = do_client.volumes.create({"name": "vol-1", "region": "nyc3", "size_gigabytes": 10})["volume"]["id"]
    wanted = [{"resource_type": "droplet", "resource_id": d1}, {"resource_type": "volume", "resource_id": volume}]

    mark = emulator.mark()
    created = play([tag(name="web", resources=wanted)], diff=True)
    assert created.rc == 0 and created.changed == 1, created.result("t")
    assert created.result("t")["diff"]["after"]["resources"] == [f"droplet:{d1}", f"volume:{volume}"]
    assert created.result("t")["tag"]["resources"]["count"] == 2
    writes = [(w["method"], w["path"], w["body"]) for w in emulator.writes(mark)]
    assert writes == [
        ("POST", "/v2/tags", {"name": "web"}),
        ("POST", "/v2/tags/web/resources", {"resources": [
            {"resource_id": d1, "resource_type": "droplet"},
            {"resource_id": volume, "resource_type": "volume"},
        ]}),
    ]  # fmt: skip

    do_client.tags.assign_resources("web", {"resources": [{"resource_id": d3, "resource_type": "droplet"}]})
    mark = emulator.mark()
    kept = play([tag(name="web", resources=wanted)])
    assert kept.changed == 0 and emulator.writes(mark) == [], "without purge an extra tagged droplet stays"

    purge = {"name": "web", "resources": wanted, "purge_resources": True}
    check = play([tag(**purge)], check=True, diff=True)
    diff = check.result("t")["diff"]
    assert check.changed == 1 and emulator.writes(mark) == []
    assert f"droplet:{d3}" in diff["before"]["resources"] and f"droplet:{d3}" not in diff["after"]["resources"]

    purged = play([tag(**purge)])
    assert purged.changed == 1
    assert [(w["method"], w["path"], w["body"]) for w in emulator.writes(mark)] == [
        ("DELETE", "/v2/tags/web/resources", {"resources": [{"resource_id": d3, "resource_type": "droplet"}]})
    ]
    assert tags_of(emulator, "droplets", d3) == [] and tags_of(emulator, "droplets", d1) == ["web"]

    mark = emulator.mark()
    grown = play([tag(**{**purge, "resources": [*wanted, {"resource_type": "droplet", "resource_id": d2}]})])
    assert grown.changed == 1 and [(w["method"], w["body"]) for w in emulator.writes(mark)] == [
        ("POST", {"resources": [{"resource_id": d2, "resource_type": "droplet"}]})
    ]
    mark = emulator.mark()
    steady = play([tag(**{**purge, "resources": [*wanted, {"resource_type": "droplet", "resource_id": d2}]})])
    assert steady.changed == 0 and emulator.writes(mark) == []

    gone = play([tag(name="web", state="absent")])
    assert gone.changed == 1 and tags_of(emulator, "droplets", d1) == [] and tags_of(emulator, "volumes", volume) == []


def test_bad_input_fails_clearly_and_creates_nothing(emulator, play):
    cases = {
        "badname": ({"name": "bad tag!"}, "tag name 'bad tag!' is invalid"),
        "notanumber": (
            {"name": "x", "resources": [{"resource_type": "droplet", "resource_id": "web-1"}]},
            "a droplet id is a number",
        ),
        "badtype": (
            {"name": "x", "resources": [{"resource_type": "database", "resource_id": "1"}]},
            "resource_type must be one of",
        ),
        "missing": (
            {"name": "x", "resources": [{"resource_type": "droplet", "resource_id": "999999"}]},
            "droplet 999999 does not exist",
        ),
    }
    mark = emulator.mark()
    run = play([tag(key, ignore_errors=True, **args) for key, (args, _) in cases.items()])
    for key, (_, expected) in cases.items():
        result = run.result(key)
        assert result.get("failed") and expected in result["msg"], (key, result)
    assert emulator.writes(mark) == [] and emulator.state().get("tags", {}) == {}


def test_create_answered_500_is_not_duplicated(emulator, do_client, play):
    (d1,) = droplet_ids(do_client, "d1")
    emulator.inject(method="POST", path="^/v2/tags$", status=500, after_commit=True)
    result = play([tag(name="once", resources=[{"resource_type": "droplet", "resource_id": d1}])])
    assert result.rc == 0 and result.changed == 1, result.result("t")
    assert len([r for r in emulator.requests() if r["method"] == "POST" and r["path"] == "/v2/tags"]) == 1
    assert tags_of(emulator, "droplets", d1) == ["once"]
