"""seaworthy.digitalocean.reserved_ip against the emulator, through real playbooks."""

from __future__ import annotations

import pytest

DROPLET = {"size": "s-1vcpu-1gb", "image": "debian-13-x64"}


def rip(register="r", ignore_errors=False, **args):
    task = {"name": register, "seaworthy.digitalocean.reserved_ip": args, "register": register}
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def make_droplet(do_client, name, region="nyc3"):
    return do_client.droplets.create({"name": name, "region": region, **DROPLET})["droplet"]["id"]


def ips_in(emulator):
    return emulator.state().get("reserved_ips", {})


def writes(emulator, mark):
    return [(w["method"], w["path"], w["body"]) for w in emulator.writes(mark)]


def test_one_reserved_ip_for_a_droplet_moved_unassigned_released(emulator, do_client, play):
    web1, web2 = make_droplet(do_client, "web-1"), make_droplet(do_client, "web-2")
    mark = emulator.mark()
    check = play([rip(droplet="web-1", region="nyc3")], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1, check.result("r")
    after = check.result("r")["diff"]["after"]
    assert after["droplet"] == f"web-1 ({web1})" and after["region"] == "nyc3"
    assert emulator.writes(mark) == [] and ips_in(emulator) == {}

    created = play([rip(droplet="web-1", region="nyc3")])
    assert created.rc == 0 and created.changed == 1, created.result("r")
    reserved = created.result("r")["reserved_ip"]
    assert reserved["droplet"]["id"] == web1 and reserved["locked"] is False and reserved["region"]["slug"] == "nyc3"
    assert writes(emulator, mark) == [("POST", "/v2/reserved_ips", {"droplet_id": web1})]
    ip = reserved["ip"]

    mark = emulator.mark()
    again = play([rip(droplet="web-1", region="nyc3")])
    assert again.changed == 0 and again.result("r")["reserved_ip"]["ip"] == ip and emulator.writes(mark) == []
    assert play([rip(ip=ip, droplet=str(web1))], check=True).changed == 0

    check_move = play([rip(ip=ip, droplet="web-2", region="nyc3")], check=True, diff=True)
    diff = check_move.result("r")["diff"]
    assert check_move.changed == 1 and emulator.writes(mark) == []
    assert diff["before"]["droplet"] == f"web-1 ({web1})" and diff["after"]["droplet"] == f"web-2 ({web2})"
    moved = play([rip(ip=ip, droplet="web-2", region="nyc3")])
    assert moved.changed == 1 and moved.result("r")["reserved_ip"]["droplet"]["id"] == web2
    assert writes(emulator, mark) == [
        ("POST", f"/v2/reserved_ips/{ip}/actions", {"type": "assign", "droplet_id": web2})
    ]

    mark = emulator.mark()
    unassigned = play([rip(droplet="web-2", state="unassigned")], diff=True)
    assert unassigned.changed == 1 and unassigned.result("r")["reserved_ip"]["droplet"] is None
    assert unassigned.result("r")["diff"]["after"]["droplet"] is None
    assert writes(emulator, mark) == [("POST", f"/v2/reserved_ips/{ip}/actions", {"type": "unassign"})]
    assert play([rip(droplet="web-2", state="unassigned")]).changed == 0, "web-2 holds no reserved IP any more"
    assert play([rip(ip=ip, state="unassigned")]).changed == 0

    mark = emulator.mark()
    reassigned = play([rip(ip=ip, droplet="web-1")])
    assert reassigned.changed == 1
    check_gone = play([rip(droplet="web-1", state="absent")], check=True, diff=True)
    assert check_gone.changed == 1 and check_gone.result("r")["diff"]["before"]["ip"] == ip
    mark = emulator.mark()
    gone = play([rip(droplet="web-1", state="absent")])
    assert gone.changed == 1 and ips_in(emulator) == {}
    assert [(m, p) for m, p, _ in writes(emulator, mark)] == [
        ("POST", f"/v2/reserved_ips/{ip}/actions"),
        ("DELETE", f"/v2/reserved_ips/{ip}"),
    ], "unassigned first, then released"
    assert play([rip(ip=ip, state="absent")]).changed == 0


def test_spare_ip_of_a_region_in_a_project(emulator, do_client, play):
    app = do_client.projects.create({"name": "App", "purpose": "Web Application"})["project"]["id"]
    other = do_client.projects.create({"name": "Other", "purpose": "Web Application"})["project"]["id"]
    mark = emulator.mark()
    created = play([rip(region="nyc3", project="App", state="unassigned")])
    assert created.rc == 0 and created.changed == 1, created.result("r")
    reserved = created.result("r")["reserved_ip"]
    assert reserved["project_id"] == app and reserved["droplet"] is None
    assert writes(emulator, mark) == [("POST", "/v2/reserved_ips", {"region": "nyc3", "project_id": app})]
    mark = emulator.mark()
    assert play([rip(region="nyc3", project="App")]).changed == 0 and emulator.writes(mark) == []

    spare = do_client.reserved_ips.create({"region": "nyc3"})["reserved_ip"]["ip"]
    run = play(
        [
            rip("ambiguous", ignore_errors=True, region="nyc3"),
            rip("in_app", region="nyc3", project="App"),
        ]
    )
    message = run.result("ambiguous")["msg"]
    assert "2 unassigned reserved IPs in nyc3" in message and reserved["ip"] in message and spare in message
    assert run.result("in_app")["changed"] is False and run.result("in_app")["reserved_ip"]["ip"] == reserved["ip"]

    mark = emulator.mark()
    moved = play([rip(ip=reserved["ip"], project="Other")], diff=True)
    assert moved.changed == 1 and moved.result("r")["reserved_ip"]["project_id"] == other
    assert moved.result("r")["diff"]["after"]["project_id"] == other
    assert writes(emulator, mark) == [
        ("POST", f"/v2/projects/{other}/resources", {"resources": [f"do:floatingip:{reserved['ip']}"]})
    ]


def test_bad_input_fails_clearly_before_any_write(emulator, do_client, play):
    web1, _ = make_droplet(do_client, "web-1"), make_droplet(do_client, "far", region="sfo3")
    held = do_client.reserved_ips.create({"droplet_id": web1})["reserved_ip"]["ip"]
    spare = do_client.reserved_ips.create({"region": "nyc3"})["reserved_ip"]["ip"]
    cases = {
        "badip": ({"ip": "not-an-ip"}, "ip 'not-an-ip' is not an IPv4 address"),
        "unknown": ({"ip": "198.51.100.77"}, "198.51.100.77 does not exist in the account"),
        "nodroplet": ({"droplet": "nope", "region": "nyc3"}, "no droplet named 'nope' in region nyc3"),
        "noid": ({"droplet": "999999"}, "droplet id 999999 does not exist"),
        "region": ({"ip": spare, "region": "sfo3"}, "cannot move regions"),
        "fardroplet": ({"ip": spare, "droplet": "far"}, "droplet far"),
        "holder": ({"ip": spare, "droplet": "web-1"}, f"already has reserved IP {held}"),
        "noproject": ({"region": "nyc3", "project": "Nope"}, "project 'Nope' not found"),
        "noidentity": ({"project": "App"}, "one of the following is required"),
    }
    mark = emulator.mark()
    run = play([rip(key, ignore_errors=True, **args) for key, (args, _) in cases.items()])
    for key, (_, expected) in cases.items():
        result = run.result(key)
        assert result.get("failed") and expected in result["msg"], (key, result)
    assert emulator.writes(mark) == [] and len(ips_in(emulator)) == 2


@pytest.mark.parametrize("args", [{"region": "nyc3"}, {"droplet": "web-1"}], ids=["region", "droplet"])
def test_create_answered_500_is_not_duplicated(emulator, do_client, play, args):
    make_droplet(do_client, "web-1")
    emulator.inject(method="POST", path="^/v2/reserved_ips$", status=500, after_commit=True)
    result = play([rip(**args)])
    assert result.rc == 0 and result.changed == 1, result.result("r")
    assert len(ips_in(emulator)) == 1
    assert len([r for r in emulator.requests() if (r["method"], r["path"]) == ("POST", "/v2/reserved_ips")]) == 1
    if "droplet" in args:
        assert result.result("r")["reserved_ip"]["droplet"]["name"] == "web-1"


def test_an_errored_assign_action_is_a_clear_failure(emulator, do_client, play):
    make_droplet(do_client, "web-1")
    spare = do_client.reserved_ips.create({"region": "nyc3"})["reserved_ip"]["ip"]
    emulator.inject(method="POST", path=r"^/v2/reserved_ips/.*/actions$", action_error=True)
    result = play([rip(ip=spare, droplet="web-1")])
    message = result.result("r")["msg"]
    assert result.failed and f"assigning to droplet web-1 of reserved IP {spare} failed" in message
    assert "ended errored" in message
