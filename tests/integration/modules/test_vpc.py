"""seaworthy.digitalocean.vpc against the emulator, through real playbooks."""

from __future__ import annotations

DROPLET = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}


def vpc(register="v", ignore_errors=False, **args):
    task = {"name": register, "seaworthy.digitalocean.vpc": args, "register": register}
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def vpcs_in(emulator):
    return {v["name"]: v for v in emulator.state().get("vpcs", {}).values()}


def write_calls(emulator, mark):
    return [(w["method"], w["path"], w.get("body")) for w in emulator.writes(mark)]


def region_default(do_client, name="base", ip_range="10.10.0.0/20"):
    """The region's first VPC, which becomes its default (and cannot be deleted)."""
    return do_client.vpcs.create({"name": name, "region": "nyc3", "ip_range": ip_range})["vpc"]


def test_create_check_idempotent_update_delete(emulator, do_client, play):
    region_default(do_client)
    args = {"name": "app-vpc", "region": "nyc3", "ip_range": "10.20.0.0/20", "description": "app"}
    mark = emulator.mark()
    check = play([vpc(**args)], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1
    assert check.result("v")["diff"]["after"] == {
        "name": "app-vpc",
        "region": "nyc3",
        "ip_range": "10.20.0.0/20",
        "description": "app",
        "default": False,
    }
    assert emulator.writes(mark) == [] and "app-vpc" not in vpcs_in(emulator)

    created = play([vpc(**args)])
    assert created.rc == 0 and created.changed == 1, created.result("v")
    result = created.result("v")["vpc"]
    assert result["ip_range"] == "10.20.0.0/20" and result["default"] is False and result["urn"].startswith("do:vpc:")
    assert write_calls(emulator, mark) == [
        ("POST", "/v2/vpcs", {"name": "app-vpc", "region": "nyc3", "ip_range": "10.20.0.0/20", "description": "app"})
    ]

    mark = emulator.mark()
    again = play([vpc(**args)])
    assert again.rc == 0 and again.changed == 0 and again.result("v")["vpc"]["id"] == result["id"]
    assert emulator.writes(mark) == [] and [r["path"] for r in emulator.requests(mark)] == ["/v2/vpcs"]
    assert play([vpc(**args)], check=True).changed == 0

    updated_args = {**args, "description": "the application"}
    check_update = play([vpc(**updated_args)], check=True, diff=True)
    diff = check_update.result("v")["diff"]
    assert check_update.changed == 1 and emulator.writes(mark) == []
    assert diff["before"]["description"] == "app" and diff["after"]["description"] == "the application"

    update = play([vpc(**updated_args)])
    assert update.changed == 1 and update.result("v")["vpc"]["description"] == "the application"
    assert write_calls(emulator, mark) == [("PATCH", f"/v2/vpcs/{result['id']}", {"description": "the application"})]

    mark = emulator.mark()
    other_range = play([vpc(**{**updated_args, "ip_range": "10.30.0.0/20"})])
    message = other_range.result("v")["msg"]
    assert other_range.failed and "cannot change in place" in message and "10.20.0.0/20 -> 10.30.0.0/20" in message
    assert emulator.writes(mark) == []

    renamed = play([vpc(id=result["id"], name="app-vpc-2")])
    assert renamed.changed == 1 and renamed.result("v")["vpc"]["name"] == "app-vpc-2"

    mark = emulator.mark()
    check_gone = play([vpc(name="app-vpc-2", region="nyc3", state="absent")], check=True, diff=True)
    assert check_gone.changed == 1 and check_gone.result("v")["diff"]["before"]["name"] == "app-vpc-2"
    assert emulator.writes(mark) == []
    gone = play([vpc(name="app-vpc-2", region="nyc3", state="absent")])
    assert gone.changed == 1 and write_calls(emulator, mark) == [("DELETE", f"/v2/vpcs/{result['id']}", None)]
    assert play([vpc(name="app-vpc-2", region="nyc3", state="absent")]).changed == 0
    assert set(vpcs_in(emulator)) == {"base"}


def test_default_vpc_and_deleting_one_with_members(emulator, do_client, play):
    base = region_default(do_client)
    mark = emulator.mark()
    made_default = play([vpc(name="app", region="nyc3", default=True)], diff=True)
    assert made_default.rc == 0 and made_default.changed == 1, made_default.result("v")
    assert made_default.result("v")["vpc"]["default"] is True
    assert made_default.result("v")["diff"]["after"]["default"] is True
    assert [(m, p) for m, p, _ in write_calls(emulator, mark)][-1][0] == "PATCH"
    state = vpcs_in(emulator)
    assert state["app"]["default"] is True and state["base"]["default"] is False
    assert play([vpc(name="app", region="nyc3", default=True)]).changed == 0

    do_client.droplets.create({"name": "member-1", "vpc_uuid": base["id"], **DROPLET})
    mark = emulator.mark()
    tasks = [
        vpc("unset", ignore_errors=True, name="app", region="nyc3", default=False),
        vpc("busy", ignore_errors=True, name="base", region="nyc3", state="absent"),
    ]
    run = play(tasks)
    unset = run.result("unset")["msg"]
    assert "default VPC of nyc3 and cannot be unset" in unset and "make another VPC" in unset
    busy = run.result("busy")
    assert busy["failed"] and "deleting VPC base" in busy["msg"] and base["id"] in busy["msg"]
    assert "HTTP 403" in busy["msg"] and "still has member resources" in busy["msg"]
    assert "member-1 (do:droplet:" in busy["msg"] and busy["failure"]["status"] == 403
    assert [w["method"] for w in emulator.writes(mark)] == ["DELETE"], "only the refused delete was sent"
    assert set(vpcs_in(emulator)) == {"base", "app"}


def test_bad_input_is_rejected_before_any_write(emulator, do_client, play):
    do_client.vpcs.create({"name": "elsewhere", "region": "sfo3", "ip_range": "10.50.0.0/20"})
    cases = {
        "badname": ({"name": "bad_name!", "region": "nyc3"}, "VPC name 'bad_name!' is invalid"),
        "public": ({"name": "a", "region": "nyc3", "ip_range": "8.8.8.0/24"}, "RFC 1918"),
        "huge": ({"name": "a", "region": "nyc3", "ip_range": "10.0.0.0/12"}, "between /16 and /28"),
        "hostbits": ({"name": "a", "region": "nyc3", "ip_range": "10.0.0.1/24"}, "not a network in CIDR"),
        "longdesc": ({"name": "a", "region": "nyc3", "description": "x" * 256}, "at most 255"),
        "noregion": ({"name": "a"}, "creating VPC 'a' needs region"),
        "otherregion": ({"name": "elsewhere", "region": "nyc3"}, "exists in region sfo3"),
        "noid": ({"id": "7b5d4b32-0000-4000-8000-000000000000"}, "does not exist"),
        "apierror": ({"name": "a", "region": "mars1"}, "HTTP 4"),
    }
    mark = emulator.mark()
    run = play([vpc(key, ignore_errors=True, **args) for key, (args, _) in cases.items()])
    for key, (_, expected) in cases.items():
        result = run.result(key)
        assert result.get("failed"), (key, result)
        assert expected in result["msg"], (key, result["msg"])
        assert "Traceback" not in result["msg"]
    assert [w["path"] for w in emulator.writes(mark)] == ["/v2/vpcs"], "only the API-checked region was sent"
    assert set(vpcs_in(emulator)) == {"elsewhere"}


def test_identity_over_every_page(emulator, do_client, play):
    for n in range(205):
        do_client.vpcs.create({"name": f"v{n}", "region": "nyc3", "ip_range": f"10.{n // 16}.{(n % 16) * 16}.0/20"})
    mark = emulator.mark()
    result = play([vpc(name="v204", region="nyc3", ip_range="10.12.192.0/20")])
    assert result.rc == 0 and result.changed == 0, result.result("v")
    assert [r["query"] for r in emulator.requests(mark)] == ["per_page=200&page=1", "per_page=200&page=2"]


def test_create_answered_500_is_not_duplicated(emulator, play):
    emulator.inject(method="POST", path="^/v2/vpcs$", status=500, after_commit=True)
    result = play([vpc(name="once", region="nyc3")])
    assert result.rc == 0 and result.changed == 1, result.result("v")
    assert list(vpcs_in(emulator)) == ["once"]
    assert len([r for r in emulator.requests() if r["method"] == "POST"]) == 1
