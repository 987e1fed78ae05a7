"""seaworthy.digitalocean.load_balancer against the emulator, through real playbooks."""

from __future__ import annotations

import pytest

DROPLET = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}
HTTP = {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}
PASSTHROUGH = {
    "entry_protocol": "https",
    "entry_port": 443,
    "target_protocol": "https",
    "target_port": 443,
    "tls_passthrough": True,
}
PG = {"entry_protocol": "tcp", "entry_port": 5432, "target_protocol": "tcp", "target_port": 5432}


def lb(register="l", **args):
    return {"name": register, "seaworthy.digitalocean.load_balancer": args, "register": register}


def base(**extra):
    return {"name": "web-lb", "region": "nyc3", "forwarding_rules": [HTTP], **extra}


def lbs_in(emulator):
    return list(emulator.state().get("load_balancers", {}).values())


def writes(emulator, mark):
    return [
        (w["method"], w["path"].split("/v2/load_balancers/")[-1].partition("/")[2] or w["path"], w["body"])
        for w in emulator.writes(mark)
    ]


@pytest.fixture
def web(do_client):
    """Two droplets in nyc3: name -> id."""
    return {n: do_client.droplets.create({"name": n, **DROPLET})["droplet"]["id"] for n in ("web-1", "web-2")}


def test_create_check_idempotent_and_delete(emulator, play, web):
    args = base(droplets=["web-1", "web-2"], health_check={"path": "/healthz", "port": 80})
    mark = emulator.mark()
    check = play([lb(**args)], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1, check.result("l")
    after = check.result("l")["diff"]["after"]
    assert after["forwarding_rules"] == ["http 80 -> http 80"] and after["droplet_ids"] == sorted(web.values())
    assert emulator.writes(mark) == [] and lbs_in(emulator) == []

    created = play([lb(**args)])
    assert created.rc == 0 and created.changed == 1, created.result("l")
    result = created.result("l")
    balancer = result["load_balancer"]
    assert balancer["status"] == "active" and result["ip"] == balancer["ip"] != ""
    assert sorted(balancer["droplet_ids"]) == sorted(web.values()) and balancer["health_check"]["path"] == "/healthz"
    posts = emulator.writes(mark)
    assert [(w["method"], w["path"]) for w in posts] == [("POST", "/v2/load_balancers")]
    assert posts[0]["body"]["droplet_ids"] == [web["web-1"], web["web-2"]]

    mark = emulator.mark()
    again = play([lb(**{**args, "droplets": ["web-2", str(web["web-1"])]})])
    assert again.rc == 0 and again.changed == 0, again.result("l")
    assert emulator.writes(mark) == []
    assert [r["path"] for r in emulator.requests(mark)] == ["/v2/load_balancers", "/v2/droplets"]
    assert play([lb(**args)], check=True).changed == 0

    mark = emulator.mark()
    gone = play([lb(name="web-lb", region="nyc3", state="absent")], diff=True)
    assert gone.changed == 1 and gone.result("l")["diff"]["before"]["name"] == "web-lb"
    assert [(w["method"], w["path"]) for w in emulator.writes(mark)] == [
        ("DELETE", f"/v2/load_balancers/{balancer['id']}")
    ]
    assert play([lb(name="web-lb", region="nyc3", state="absent")]).changed == 0


def test_rules_and_droplets_through_their_endpoints(emulator, play, web):
    assert play([lb(**base(droplets=["web-1"]))]).rc == 0

    args = base(forwarding_rules=[PG, PASSTHROUGH, HTTP], droplets=["web-2"])
    mark = emulator.mark()
    check = play([lb(**args)], check=True, diff=True)
    diff = check.result("l")["diff"]
    assert check.changed == 1 and emulator.writes(mark) == []
    assert diff["after"]["forwarding_rules"] == [
        "http 80 -> http 80",
        "https 443 -> https 443 (tls passthrough)",
        "tcp 5432 -> tcp 5432",
    ]
    assert diff["before"]["droplet_ids"] == [web["web-1"]] and diff["after"]["droplet_ids"] == [web["web-2"]]

    mark = emulator.mark()
    update = play([lb(**args)])
    assert update.rc == 0 and update.changed == 1, update.result("l")
    assert writes(emulator, mark) == [
        ("POST", "forwarding_rules", {"forwarding_rules": [PG, PASSTHROUGH]}),
        ("POST", "droplets", {"droplet_ids": [web["web-2"]]}),
        ("DELETE", "droplets", {"droplet_ids": [web["web-1"]]}),
    ], "no PUT: nothing but rules and droplets changed"
    assert update.result("l")["load_balancer"]["droplet_ids"] == [web["web-2"]]

    # Reordered rules are no change.
    assert play([lb(**{**args, "forwarding_rules": [HTTP, PG, PASSTHROUGH]})]).changed == 0

    # One rule changed: exactly that rule goes and its replacement comes, nothing else.
    moved = {**PG, "target_port": 6432}
    mark = emulator.mark()
    change = play([lb(**{**args, "forwarding_rules": [HTTP, moved, PASSTHROUGH]})])
    assert change.rc == 0 and change.changed == 1, change.result("l")
    pg_as_stored = {**PG, "certificate_id": "", "tls_passthrough": False}
    assert writes(emulator, mark) == [
        ("DELETE", "forwarding_rules", {"forwarding_rules": [pg_as_stored]}),
        ("POST", "forwarding_rules", {"forwarding_rules": [moved]}),
    ]


def test_replacing_the_only_rule(emulator, play, web):
    assert play([lb(**base(droplets=["web-1"]))]).rc == 0
    # Another entry port: the new rule is added before the old one goes (never zero rules).
    other_port = {**HTTP, "entry_port": 8080}
    mark = emulator.mark()
    assert play([lb(**base(forwarding_rules=[other_port]))]).changed == 1
    assert [(m, p) for m, p, _b in writes(emulator, mark)] == [
        ("POST", "forwarding_rules"),
        ("DELETE", "forwarding_rules"),
    ]
    # The same entry port: neither order works through the narrow endpoints, so one PUT.
    same_port = {**other_port, "target_port": 8081}
    mark = emulator.mark()
    swapped = play([lb(**base(forwarding_rules=[same_port]))])
    assert swapped.rc == 0 and swapped.changed == 1, swapped.result("l")
    (put,) = writes(emulator, mark)
    assert put[0] == "PUT" and put[2]["forwarding_rules"] == [same_port]
    assert put[2]["droplet_ids"] == [web["web-1"]], "the PUT keeps the droplets"
    assert play([lb(**base(forwarding_rules=[same_port]))]).changed == 0


def test_settings_go_through_one_put_that_keeps_the_rest(emulator, play, web):
    sticky = {"type": "cookies", "cookie_name": "WEB", "cookie_ttl_seconds": 300}
    created = play(
        [
            lb(
                **base(
                    droplets=["web-1"],
                    sticky_sessions=sticky,
                    firewall={"deny": ["cidr:192.0.2.0/24"]},
                    http_idle_timeout_seconds=90,
                    health_check={"path": "/up"},
                )
            )
        ]
    ).result("l")["load_balancer"]

    mark = emulator.mark()
    args = base(redirect_http_to_https=True, health_check={"check_interval_seconds": 20}, size_unit=2)
    check = play([lb(**args)], check=True, diff=True)
    diff = check.result("l")["diff"]
    assert check.changed == 1 and emulator.writes(mark) == []
    assert diff["before"]["redirect_http_to_https"] is False and diff["after"]["redirect_http_to_https"] is True
    assert (
        diff["after"]["health_check"]["check_interval_seconds"] == 20 and diff["after"]["health_check"]["path"] == "/up"
    )

    update = play([lb(**args)])
    assert update.rc == 0 and update.changed == 1, update.result("l")
    (put,) = emulator.writes(mark)
    assert put["method"] == "PUT"
    body = put["body"]
    assert body["redirect_http_to_https"] is True and body["size_unit"] == 2
    assert body["sticky_sessions"] == sticky and body["firewall"] == {"allow": [], "deny": ["cidr:192.0.2.0/24"]}
    assert body["http_idle_timeout_seconds"] == 90 and body["droplet_ids"] == [web["web-1"]]
    assert body["health_check"] == {**created["health_check"], "check_interval_seconds": 20}
    final = update.result("l")["load_balancer"]
    assert final["sticky_sessions"] == sticky and final["http_idle_timeout_seconds"] == 90
    assert final["droplet_ids"] == [web["web-1"]] and final["health_check"]["path"] == "/up"
    assert play([lb(**args)]).changed == 0

    # A declared firewall list is exact; the other list is kept.
    mark = emulator.mark()
    opened = play([lb(**base(firewall={"allow": ["ip:203.0.113.7"]}))])
    assert opened.changed == 1
    assert opened.result("l")["load_balancer"]["firewall"] == {
        "allow": ["ip:203.0.113.7"],
        "deny": ["cidr:192.0.2.0/24"],
    }


def test_switching_between_droplets_and_tag_uses_put(emulator, do_client, play, web):
    do_client.droplets.create({"name": "tagged", "tags": ["web"], **DROPLET})
    assert play([lb(**base(droplets=["web-1"]))]).rc == 0
    mark = emulator.mark()
    tagged = play([lb(**base(tag="web"))], diff=True)
    assert tagged.rc == 0 and tagged.changed == 1, tagged.result("l")
    (put,) = emulator.writes(mark)
    assert put["method"] == "PUT" and put["body"]["tag"] == "web" and "droplet_ids" not in put["body"]
    assert tagged.result("l")["diff"]["after"]["tag"] == "web"
    assert play([lb(**base(tag="web"))]).changed == 0

    mark = emulator.mark()
    back = play([lb(**base(droplets=["web-2"]))])
    assert back.rc == 0 and back.result("l")["load_balancer"]["droplet_ids"] == [web["web-2"]]
    (put,) = emulator.writes(mark)
    assert put["body"]["droplet_ids"] == [web["web-2"]] and "tag" not in put["body"]


def test_project_and_vpc(emulator, do_client, play):
    for name in ("Shop", "Other"):
        do_client.projects.create({"name": name, "purpose": "Web Application"})
    vpc = do_client.vpcs.create({"name": "shop-vpc", "region": "nyc3"})["vpc"]
    created = play([lb(**base(vpc="shop-vpc", project="Shop"))])
    assert created.rc == 0, created.result("l")
    balancer = created.result("l")["load_balancer"]
    assert balancer["vpc_uuid"] == vpc["id"]
    projects = {p["name"]: p for p in do_client.projects.list()["projects"]}
    shop, other = projects["Shop"], projects["Other"]
    assert balancer["project_id"] == shop["id"]
    assert play([lb(**base(vpc="shop-vpc", project="Shop"))]).changed == 0

    mark = emulator.mark()
    moved = play([lb(**base(project="Other"))])
    assert moved.rc == 0 and moved.changed == 1, moved.result("l")
    (assign,) = emulator.writes(mark)
    assert assign["path"] == f"/v2/projects/{other['id']}/resources"
    assert assign["body"] == {"resources": [f"do:loadbalancer:{balancer['id']}"]}

    # A settings change in the same run: the one PUT carries the project, no separate assignment.
    mark = emulator.mark()
    both = play([lb(**base(project="Shop", enable_backend_keepalive=True))])
    assert both.rc == 0 and both.result("l")["load_balancer"]["project_id"] == shop["id"]
    (put,) = emulator.writes(mark)
    assert put["method"] == "PUT" and put["body"]["project_id"] == shop["id"]

    do_client.vpcs.create({"name": "other-vpc", "region": "nyc3"})
    mark = emulator.mark()
    refused = play([lb(**base(vpc="other-vpc"))])
    assert refused.failed and "cannot change in place: vpc" in refused.result("l")["msg"]
    refused = play([lb(id=balancer["id"], region="sfo3")])
    assert refused.failed and "region nyc3 -> sfo3" in refused.result("l")["msg"]
    assert emulator.writes(mark) == []


def test_rename_by_id(emulator, play):
    balancer = play([lb(**base())]).result("l")["load_balancer"]
    renamed = play([lb(id=balancer["id"], name="new-lb")])
    assert renamed.rc == 0 and renamed.result("l")["load_balancer"]["name"] == "new-lb"
    assert renamed.result("l")["load_balancer"]["forwarding_rules"] == balancer["forwarding_rules"]
    assert play([lb(id=balancer["id"], name="new-lb")]).changed == 0


BAD_INPUT = [
    (
        {"forwarding_rules": [{**HTTP, "entry_protocol": "https"}]},
        "forwarding_rules[0] (https 80 -> http 80): an https entry needs certificate_id",
    ),
    ({"forwarding_rules": [{**PASSTHROUGH, "target_protocol": "http"}]}, "tls_passthrough needs https to https"),
    ({"forwarding_rules": [{**PG, "target_protocol": "udp"}]}, "UDP forwards only to UDP"),
    (
        {"forwarding_rules": [HTTP, {**HTTP, "target_port": 81}]},
        "forwarding_rules[1] (http 80 -> http 81): forwarding_rules[0] listens on entry_port 80 too",
    ),
    ({"forwarding_rules": [{**HTTP, "entry_port": 70000}]}, "entry_port must be from 1 to 65535"),
    ({"forwarding_rules": []}, "forwarding_rules must list at least one rule"),
    ({"sticky_sessions": {"type": "cookies"}}, "need cookie_name and cookie_ttl_seconds"),
    ({"firewall": {"deny": ["10.0.0.0/8"]}}, "firewall.deny entry '10.0.0.0/8' must look like"),
    ({"http_idle_timeout_seconds": 10}, "http_idle_timeout_seconds must be from 30 to 600"),
    ({"health_check": {"healthy_threshold": 1}}, "health_check.healthy_threshold must be from 2 to 10"),
    ({"name": "web lb"}, "may only hold letters, digits"),
    ({"region": None}, "creating it needs region"),
    ({"droplets": ["nowhere"]}, "no droplet named 'nowhere' in region nyc3"),
    ({"droplets": ["web-1"], "tag": "web"}, "mutually exclusive"),
    ({"vpc": "no-such-vpc"}, "VPC 'no-such-vpc' not found"),
    ({"project": "no-such-project"}, "project 'no-such-project' not found"),
]


def test_bad_input_fails_before_any_write(emulator, play, web):
    """Each case is its own task (ignore_errors), so one playbook checks them all."""
    tasks = []
    for n, (overrides, _expected) in enumerate(BAD_INPUT):
        args = {k: v for k, v in {**base(), **overrides}.items() if v is not None}
        tasks.append({**lb(register=f"bad{n}", **args), "ignore_errors": True})
    mark = emulator.mark()
    run = play(tasks)
    for n, (_overrides, expected) in enumerate(BAD_INPUT):
        result = run.result(f"bad{n}")
        assert result.get("failed"), (n, result)
        assert expected in result["msg"] and "Traceback" not in result["msg"], (n, result["msg"])
    assert emulator.writes(mark) == [] and lbs_in(emulator) == []


def test_api_refusal_is_surfaced(emulator, play):
    result = play([lb(**base(droplets=["424242"]))])
    message = result.result("l")["msg"]
    assert result.failed and "HTTP 422" in message and "Droplet 424242 could not be found" in message
    assert lbs_in(emulator) == []


def test_ambiguous_name_lists_the_ids(emulator, do_client, play):
    body = {"name": "twin", "region": "nyc3", "forwarding_rules": [HTTP], "droplet_ids": []}
    ids = [do_client.load_balancers.create(body)["load_balancer"]["id"] for _ in range(2)]
    result = play([lb(name="twin", region="nyc3", state="absent")])
    assert result.failed and all(i in result.result("l")["msg"] for i in ids)
    assert len(lbs_in(emulator)) == 2


def test_create_answered_500_is_not_duplicated(emulator, play):
    emulator.inject(method="POST", path="^/v2/load_balancers$", status=500, after_commit=True)
    result = play([lb(**base())])
    assert result.rc == 0, result.result("l")
    assert [b["name"] for b in lbs_in(emulator)] == ["web-lb"]
    posts = [r for r in emulator.requests() if r["method"] == "POST" and r["path"] == "/v2/load_balancers"]
    assert len(posts) == 1
