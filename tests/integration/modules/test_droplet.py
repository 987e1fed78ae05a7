"""seaworthy.digitalocean.droplet / droplet_info against the emulator, through real playbooks."""

from __future__ import annotations

import pytest

BASE = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}


def droplet(register="d", **args):
    return {"name": register, "seaworthy.digitalocean.droplet": args, "register": register}


def droplets_in(emulator):
    return list(emulator.state().get("droplets", {}).values())


def write_paths(emulator, mark):
    return [(w["method"], w["path"]) for w in emulator.writes(mark)]


def test_create_check_idempotent_and_delete(emulator, play):
    args = {"name": "web-1", "tags": ["app", "web"], **BASE}
    mark = emulator.mark()
    check = play([droplet(**args)], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1
    assert check.result("d")["diff"]["after"]["name"] == "web-1"
    assert emulator.writes(mark) == [] and droplets_in(emulator) == []

    created = play([droplet(**args)])
    assert created.rc == 0 and created.changed == 1, created.stderr
    result = created.result("d")
    assert result["droplet"]["status"] == "active"
    assert result["public_ipv4"] and result["private_ipv4"]
    assert sorted(result["droplet"]["tags"]) == ["app", "web"]
    assert [m for m, _ in write_paths(emulator, mark)] == ["POST"], "one create, tags given at creation"

    mark = emulator.mark()
    again = play([droplet(**args)])
    assert again.rc == 0 and again.changed == 0
    assert emulator.writes(mark) == []
    assert [r["path"] for r in emulator.requests(mark)] == ["/v2/droplets"], "a no-change run lists droplets once"

    check_converged = play([droplet(**args)], check=True)
    assert check_converged.changed == 0

    mark = emulator.mark()
    gone = play([droplet(name="web-1", region="nyc3", state="absent")], diff=True)
    assert gone.changed == 1 and gone.result("d")["diff"]["before"]["name"] == "web-1"
    assert write_paths(emulator, mark) == [("DELETE", f"/v2/droplets/{result['droplet']['id']}")]
    assert play([droplet(name="web-1", region="nyc3", state="absent")]).changed == 0


def test_reconciles_tags_backups_and_power(emulator, play):
    assert play([droplet(name="app", tags=["a", "b"], **BASE)]).rc == 0

    mark = emulator.mark()
    check = play([droplet(name="app", tags=["b", "c"], backups=True, **BASE)], check=True, diff=True)
    diff = check.result("d")["diff"]
    assert check.changed == 1 and diff["before"]["tags"] == ["a", "b"] and diff["after"]["tags"] == ["b", "c"]
    assert diff["after"]["backups"] is True and emulator.writes(mark) == []

    update = play([droplet(name="app", tags=["b", "c"], backups=True, **BASE)])
    assert update.rc == 0 and update.changed == 1, update.result("d")
    final = update.result("d")["droplet"]
    assert sorted(final["tags"]) == ["b", "c"] and "backups" in final["features"]
    writes = write_paths(emulator, mark)
    assert ("POST", "/v2/tags/c/resources") in writes and ("DELETE", "/v2/tags/a/resources") in writes
    assert play([droplet(name="app", tags=["b", "c"], backups=True, **BASE)]).changed == 0

    off = play([droplet(name="app", state="inactive", **BASE)])
    assert off.rc == 0 and off.result("d")["droplet"]["status"] == "off"
    assert play([droplet(name="app", state="inactive", **BASE)]).changed == 0
    on = play([droplet(name="app", state="active", **BASE)])
    assert on.rc == 0 and on.result("d")["droplet"]["status"] == "active"


def test_resize_needs_permission_to_power_cycle(emulator, play):
    assert play([droplet(name="db", **BASE)]).rc == 0
    bigger = {**BASE, "size": "s-2vcpu-4gb"}
    mark = emulator.mark()
    refused = play([droplet(name="db", **bigger)])
    assert refused.failed and "allow_power_cycle" in refused.result("d")["msg"]
    assert emulator.writes(mark) == [], "nothing touched when the resize is refused"

    resized = play([droplet(name="db", allow_power_cycle=True, **bigger)])
    assert resized.rc == 0 and resized.changed == 1, resized.result("d")
    result = resized.result("d")["droplet"]
    assert result["size_slug"] == "s-2vcpu-4gb" and result["status"] == "active"
    types = [w["body"]["type"] for w in emulator.writes(mark) if w["path"].endswith("/actions")]
    assert types == ["shutdown", "resize", "power_on"]
    assert play([droplet(name="db", allow_power_cycle=True, **bigger)]).changed == 0


def test_ipv6_and_backup_policy_on_an_existing_droplet(emulator, play):
    assert play([droplet(name="v6", backups=True, **BASE)]).rc == 0
    refused = play([droplet(name="v6", ipv6=True, **BASE)])
    assert refused.failed and "enabling IPv6 needs it powered off" in refused.result("d")["msg"]
    mark = emulator.mark()
    policy = {"plan": "weekly", "weekday": "FRI", "hour": 8}
    done = play([droplet(name="v6", ipv6=True, allow_power_cycle=True, backups=True, backup_policy=policy, **BASE)])
    assert done.rc == 0 and done.changed == 1, done.result("d")
    final = done.result("d")["droplet"]
    assert "ipv6" in final["features"] and final["status"] == "active"
    types = [w["body"]["type"] for w in emulator.writes(mark) if w["path"].endswith("/actions")]
    assert types == ["shutdown", "enable_ipv6", "change_backup_policy", "power_on"]
    again = play([droplet(name="v6", ipv6=True, allow_power_cycle=True, backups=True, backup_policy=policy, **BASE)])
    assert again.changed == 0


def test_immutable_attributes_fail_or_recreate(emulator, play):
    first = play([droplet(name="img", **BASE)]).result("d")["droplet"]
    other = {**BASE, "image": "ubuntu-24-04-x64"}
    refused = play([droplet(name="img", **other)])
    assert refused.failed and "image debian-13-x64 -> ubuntu-24-04-x64" in refused.result("d")["msg"]
    replaced = play([droplet(name="img", recreate=True, **other)])
    assert replaced.rc == 0 and replaced.result("d")["droplet"]["id"] != first["id"]
    assert [d["image"]["slug"] for d in droplets_in(emulator)] == ["ubuntu-24-04-x64"]


def test_fleet_with_count_uses_multi_create(emulator, play):
    mark = emulator.mark()
    fleet = play([droplet(name="worker-{n}", count=3, tags=["worker"], **BASE)])
    assert fleet.rc == 0 and fleet.changed == 1
    assert [d["name"] for d in fleet.result("d")["droplets"]] == ["worker-1", "worker-2", "worker-3"]
    creates = [w for w in emulator.writes(mark) if w["path"] == "/v2/droplets"]
    assert len(creates) == 1 and creates[0]["body"]["names"] == ["worker-1", "worker-2", "worker-3"]
    assert play([droplet(name="worker-{n}", count=3, tags=["worker"], **BASE)]).changed == 0
    grown = play([droplet(name="worker-{n}", count=4, tags=["worker"], **BASE)])
    assert grown.changed == 1 and len(droplets_in(emulator)) == 4


def test_droplet_info_filters(emulator, play):
    play(
        [
            droplet(name="web-{n}", count=2, tags=["web"], **BASE),
            droplet(register="e", name="db-1", tags=["db"], **BASE),
        ]
    )
    info = play(
        [{"name": "i", "seaworthy.digitalocean.droplet_info": {"tag": "web", "region": "nyc"}, "register": "i"}]
    ).result("i")
    assert [d["name"] for d in info["droplets"]] == ["web-1", "web-2"] and info["changed"] is False


def test_ambiguous_name_lists_the_ids(emulator, do_client, play):
    ids = [do_client.droplets.create({"name": "twin", **BASE})["droplet"]["id"] for _ in range(2)]
    result = play([droplet(name="twin", **BASE)])
    assert result.failed and all(str(i) in result.result("d")["msg"] for i in ids)
    assert len(droplets_in(emulator)) == 2


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"region": "mars1"}, "Region 'mars1' is not available"),
        ({"size": "s-99vcpu"}, "Size 's-99vcpu' is not available"),
        ({"image": "windows-11"}, "invalid image ('windows-11')"),
        ({"ssh_keys": ["nobody"]}, "no SSH key named 'nobody'"),
        ({"vpc": "no-such-vpc"}, "VPC 'no-such-vpc' not found"),
        ({"size": None}, "needs size"),
    ],
)
def test_bad_input_is_clear_and_creates_nothing(emulator, play, overrides, expected):
    args = {k: v for k, v in {"name": "bad", **BASE, **overrides}.items() if v is not None}
    result = play([droplet(**args)])
    assert result.failed
    assert expected in result.result("d")["msg"]
    assert "Traceback" not in result.result("d")["msg"]
    assert droplets_in(emulator) == []


def test_create_answered_500_is_not_duplicated(emulator, play):
    emulator.inject(method="POST", path="^/v2/droplets$", status=500, after_commit=True)
    result = play([droplet(name="once", **BASE)])
    assert result.rc == 0, result.result("d")
    assert [d["name"] for d in droplets_in(emulator)] == ["once"]


def test_rate_limited_create_is_retried(emulator, play):
    emulator.inject(method="POST", path="^/v2/droplets$", status=429, retry_after=1)
    result = play([droplet(name="later", **BASE)])
    assert result.rc == 0 and len(droplets_in(emulator)) == 1
