"""seaworthy.digitalocean.project against the emulator, through real playbooks."""

from __future__ import annotations

DROPLET = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}


def project(register="p", ignore_errors=False, **args):
    task = {"name": register, "seaworthy.digitalocean.project": args, "register": register}
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def projects_in(emulator):
    return {p["name"]: p for p in emulator.state().get("projects", {}).values()}


def members(do_client, name):
    projects = do_client.projects.list(per_page=200)["projects"]
    project_id = next(p["id"] for p in projects if p["name"] == name)
    return sorted(r["urn"] for r in do_client.projects.list_resources(project_id, per_page=200)["resources"])


def test_create_check_idempotent_update_delete(emulator, play):
    args = {"name": "FreshTrack", "purpose": "Web Application", "environment": "Production", "description": "app"}
    mark = emulator.mark()
    check = play([project(**args)], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1, check.result("p")
    assert check.result("p")["diff"]["after"] == {
        "name": "FreshTrack",
        "description": "app",
        "purpose": "Web Application",
        "environment": "Production",
        "is_default": False,
    }
    assert emulator.writes(mark) == [] and "FreshTrack" not in projects_in(emulator)

    created = play([project(**args)])
    assert created.rc == 0 and created.changed == 1, created.result("p")
    result = created.result("p")
    assert result["project"]["name"] == "FreshTrack" and result["resources"] == []
    assert [(w["method"], w["path"], w["body"]) for w in emulator.writes(mark)] == [("POST", "/v2/projects", args)]

    mark = emulator.mark()
    again = play([project(**args)])
    assert again.changed == 0 and emulator.writes(mark) == []
    assert [r["path"] for r in emulator.requests(mark)] == [
        "/v2/projects",
        f"/v2/projects/{result['project']['id']}/resources",
    ]
    assert play([project(**args)], check=True).changed == 0

    changed = {**args, "purpose": "Internal dashboards", "environment": "Staging"}
    check_update = play([project(**changed)], check=True, diff=True)
    diff = check_update.result("p")["diff"]
    assert check_update.changed == 1 and emulator.writes(mark) == []
    assert diff["before"]["purpose"] == "Web Application" and diff["after"]["purpose"] == "Other: Internal dashboards"
    assert diff["after"]["environment"] == "Staging"
    update = play([project(**changed)])
    assert update.changed == 1 and update.result("p")["project"]["purpose"] == "Other: Internal dashboards"
    assert [(w["method"], w["body"]) for w in emulator.writes(mark)] == [
        ("PATCH", {"purpose": "Internal dashboards", "environment": "Staging"})
    ]
    assert play([project(**changed)]).changed == 0, "an unlisted purpose compares as DigitalOcean stores it"

    renamed = play([project(id=result["project"]["id"], name="FreshTrack Pro")])
    assert renamed.changed == 1 and renamed.result("p")["project"]["name"] == "FreshTrack Pro"

    mark = emulator.mark()
    check_gone = play([project(name="FreshTrack Pro", state="absent")], check=True, diff=True)
    assert check_gone.changed == 1 and check_gone.result("p")["diff"]["before"]["name"] == "FreshTrack Pro"
    assert emulator.writes(mark) == []
    gone = play([project(name="FreshTrack Pro", state="absent")])
    assert gone.changed == 1 and [w["method"] for w in emulator.writes(mark)] == ["DELETE"]
    assert play([project(name="FreshTrack Pro", state="absent")]).changed == 0


def test_resources_by_urn_or_name_move_purge_and_delete(emulator, do_client, play):
    droplet = do_client.droplets.create({"name": "web-1", **DROPLET})["droplet"]["id"]
    do_client.droplets.create({"name": "web-1", **DROPLET, "region": "sfo3"})
    do_client.domains.create({"name": "example.com"})
    volume = do_client.volumes.create({"name": "vol-1", "region": "nyc3", "size_gigabytes": 10})["volume"]["id"]
    ip = do_client.reserved_ips.create({"region": "nyc3"})["reserved_ip"]["ip"]
    wanted = [
        {"type": "droplet", "name": "web-1", "region": "nyc3"},
        {"type": "domain", "name": "example.com"},
        f"do:volume:{volume}",
        {"type": "reserved_ip", "name": ip},
    ]
    urns = sorted([f"do:droplet:{droplet}", "do:domain:example.com", f"do:volume:{volume}", f"do:floatingip:{ip}"])
    base = {"name": "App", "purpose": "Web Application"}

    mark = emulator.mark()
    check = play([project(**base, resources=wanted)], check=True, diff=True)
    assert check.changed == 1 and check.result("p")["diff"]["after"]["resources"] == urns
    assert emulator.writes(mark) == []
    created = play([project(**base, resources=wanted)])
    assert created.rc == 0 and created.changed == 1, created.result("p")
    assert sorted(r["urn"] for r in created.result("p")["resources"]) == urns
    assigns = [w for w in emulator.writes(mark) if w["path"].endswith("/resources")]
    assert len(assigns) == 1 and sorted(assigns[0]["body"]["resources"]) == urns, "one assignment call"

    mark = emulator.mark()
    assert play([project(**base, resources=wanted)]).changed == 0 and emulator.writes(mark) == []

    moved = play([project(name="Other", purpose="Service or API", resources=[f"do:droplet:{droplet}"])])
    assert moved.changed == 1 and members(do_client, "Other") == [f"do:droplet:{droplet}"]
    assert f"do:droplet:{droplet}" not in members(do_client, "App"), "assigning moves it from its project"

    mark = emulator.mark()
    keep = {**base, "resources": [{"type": "domain", "name": "example.com"}], "purge_resources": True}
    check_purge = play([project(**keep)], check=True, diff=True)
    diff = check_purge.result("p")["diff"]
    assert check_purge.changed == 1 and emulator.writes(mark) == []
    assert diff["after"]["resources"] == ["do:domain:example.com"] and len(diff["before"]["resources"]) == 3
    purged = play([project(**keep)])
    assert purged.changed == 1 and members(do_client, "App") == ["do:domain:example.com"]
    assert [(w["path"], sorted(w["body"]["resources"])) for w in emulator.writes(mark)] == [
        ("/v2/projects/default/resources", sorted([f"do:volume:{volume}", f"do:floatingip:{ip}"]))
    ]

    mark = emulator.mark()
    refused = play([project(name="Other", state="absent")])
    message = refused.result("p")["msg"]
    assert refused.failed and "still has 1 resource(s)" in message and f"do:droplet:{droplet}" in message
    assert "move_resources_to_default" in message and emulator.writes(mark) == []
    emptied = play([project(name="Other", state="absent", move_resources_to_default=True)])
    assert emptied.changed == 1 and "Other" not in projects_in(emulator)
    assert [(w["method"], w["path"]) for w in emulator.writes(mark)] == [
        ("POST", "/v2/projects/default/resources"),
        ("DELETE", f"/v2/projects/{moved.result('p')['project']['id']}"),
    ]
    assert f"do:droplet:{droplet}" in members(do_client, "Default")


def test_default_project(emulator, play):
    made = play([project(name="Main", purpose="Web Application", is_default=True)], diff=True)
    assert made.rc == 0 and made.changed == 1, made.result("p")
    assert made.result("p")["project"]["is_default"] is True
    state = projects_in(emulator)
    assert state["Main"]["is_default"] is True and state["Default"]["is_default"] is False
    mark = emulator.mark()
    run = play(
        [
            project("same", name="Main", is_default=True),
            project("unset", ignore_errors=True, name="Main", is_default=False),
            project("delete", ignore_errors=True, name="Main", state="absent"),
            project("purge", ignore_errors=True, name="Main", resources=[], purge_resources=True),
        ]
    )
    assert run.result("same")["changed"] is False
    assert "is the default project and cannot be unset" in run.result("unset")["msg"]
    assert "is the default project and cannot be deleted" in run.result("delete")["msg"]
    assert "purge_resources cannot move resources out of it" in run.result("purge")["msg"]
    assert emulator.writes(mark) == []


def test_bad_input_fails_clearly_and_changes_nothing(emulator, do_client, play):
    do_client.droplets.create({"name": "web-1", **DROPLET})
    do_client.droplets.create({"name": "web-1", **DROPLET})
    base = {"name": "App", "purpose": "Web Application"}
    cases = {
        "nopurpose": ({"name": "App"}, "creating project 'App' needs purpose"),
        "longname": ({**base, "name": "x" * 176}, "project name is 176 characters, at most 175"),
        "environment": ({**base, "environment": "QA"}, "value of environment must be one of"),
        "noturn": ({**base, "resources": ["droplet:1"]}, "is not a URN"),
        "badtype": ({**base, "resources": [{"type": "bucket", "name": "x"}]}, "needs type (one of droplet"),
        "nokey": ({**base, "resources": [{"type": "droplet"}]}, "needs name or id"),
        "nodroplet": ({**base, "resources": [{"type": "droplet", "name": "nope"}]}, "no droplet named 'nope'"),
        "nodomain": ({**base, "resources": [{"type": "domain", "name": "nope.example"}]}, "no domain 'nope.example'"),
        "twins": ({**base, "resources": [{"type": "droplet", "name": "web-1"}]}, "droplet name 'web-1' is ambiguous"),
        "noid": ({"id": "6f0b8a0e-0000-4000-8000-000000000000"}, "does not exist"),
    }
    mark = emulator.mark()
    run = play([project(key, ignore_errors=True, **args) for key, (args, _) in cases.items()])
    for key, (_, expected) in cases.items():
        result = run.result(key)
        assert result.get("failed") and expected in result["msg"], (key, result)
    assert emulator.writes(mark) == [] and set(projects_in(emulator)) <= {"Default"}


def test_create_answered_500_is_not_duplicated(emulator, play):
    emulator.inject(method="POST", path="^/v2/projects$", status=500, after_commit=True)
    result = play([project(name="Once", purpose="IoT")])
    assert result.rc == 0 and result.changed == 1, result.result("p")
    assert [n for n in projects_in(emulator) if n == "Once"] == ["Once"]
    assert len([r for r in emulator.requests() if r["method"] == "POST"]) == 1
