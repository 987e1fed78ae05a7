"""seaworthy.digitalocean.firewall against the emulator, through real playbooks."""

from __future__ import annotations

import json
import urllib.request

ANY = ["0.0.0.0/0", "::/0"]
DROPLET = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}


def tcp(port, **sources):
    return {"protocol": "tcp", "ports": port, "sources": sources or {"addresses": ANY}}


WEB = [tcp(22), tcp(80), tcp(443)]  # the deployment guides' firewall: SSH, HTTP, HTTPS in; all out


def fw(register="f", **args):
    return {"name": register, "seaworthy.digitalocean.firewall": args, "register": register}


def seed_firewalls(emulator, names):
    """Create firewalls straight over the emulator's plain-HTTP port (many, quickly)."""
    for name in names:
        request = urllib.request.Request(
            f"{emulator.http_url}/v2/firewalls",
            data=json.dumps({"name": name, "inbound_rules": [tcp("22")], "outbound_rules": []}).encode(),
            headers={"Authorization": f"Bearer {emulator.token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 202


def firewalls_in(emulator):
    return list(emulator.state().get("firewalls", {}).values())


def write_paths(emulator, mark):
    return [(w["method"], w["path"]) for w in emulator.writes(mark)]


def test_create_check_idempotent_reordered_and_delete(emulator, play):
    args = {"name": "web", "inbound_rules": WEB, "tags": ["web"]}
    mark = emulator.mark()
    check = play([fw(**args)], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1, check.result("f")
    after = check.result("f")["diff"]["after"]
    assert after["inbound_rules"] == [
        "tcp 22 from 0.0.0.0/0, ::/0",
        "tcp 80 from 0.0.0.0/0, ::/0",
        "tcp 443 from 0.0.0.0/0, ::/0",
    ], "readable, by protocol then port"
    assert after["outbound_rules"] == [
        "icmp to 0.0.0.0/0, ::/0",
        "tcp all to 0.0.0.0/0, ::/0",
        "udp all to 0.0.0.0/0, ::/0",
    ]
    assert emulator.writes(mark) == [] and firewalls_in(emulator) == []

    created = play([fw(**args)])
    assert created.rc == 0 and created.changed == 1, created.result("f")
    firewall = created.result("f")["firewall"]
    assert firewall["status"] == "succeeded" and firewall["tags"] == ["web"]
    assert write_paths(emulator, mark) == [("POST", "/v2/tags"), ("POST", "/v2/firewalls")], "the tag must exist first"
    post = emulator.writes(mark)[-1]["body"]
    assert post["inbound_rules"][0] == {"protocol": "tcp", "ports": "22", "sources": {"addresses": ANY}}
    assert [(r["protocol"], r["ports"]) for r in post["outbound_rules"]] == [("tcp", "0"), ("udp", "0"), ("icmp", "0")]

    # The same rules in another order, ports and addresses spelled differently: no change, one read.
    reordered = [
        tcp("443", addresses=["::/0", "0.0.0.0/0"]),
        tcp("22", addresses=["::/0, 0.0.0.0/0"]),
        tcp(80),
    ]
    outbound = [
        {"protocol": "icmp", "destinations": {"addresses": ANY}},
        {"protocol": "udp", "ports": "all", "destinations": {"addresses": ANY}},
        {"protocol": "tcp", "ports": "1-65535", "destinations": {"addresses": ANY}},
    ]
    mark = emulator.mark()
    again = play([fw(name="web", inbound_rules=reordered, outbound_rules=outbound, tags=["web"])])
    assert again.rc == 0 and again.changed == 0, again.result("f")
    assert emulator.writes(mark) == []
    assert [r["path"] for r in emulator.requests(mark)] == ["/v2/firewalls"]
    assert play([fw(**args)], check=True).changed == 0

    mark = emulator.mark()
    gone = play([fw(name="web", state="absent")], diff=True)
    assert gone.changed == 1 and "tcp 22 from 0.0.0.0/0, ::/0" in gone.result("f")["diff"]["before"]["inbound_rules"]
    assert write_paths(emulator, mark) == [("DELETE", f"/v2/firewalls/{firewall['id']}")]
    assert play([fw(name="web", state="absent")]).changed == 0


def test_changing_one_rule_adds_and_removes_exactly_that_rule(emulator, play):
    assert play([fw(name="web", inbound_rules=WEB)]).rc == 0
    changed = [tcp(22), tcp(8080), tcp(443)]

    mark = emulator.mark()
    check = play([fw(name="web", inbound_rules=changed)], check=True, diff=True)
    result = check.result("f")
    assert check.changed == 1 and emulator.writes(mark) == []
    assert result["rules_added"] == ["inbound tcp 8080 from 0.0.0.0/0, ::/0"]
    assert result["rules_removed"] == ["inbound tcp 80 from 0.0.0.0/0, ::/0"]
    assert "tcp 80 from 0.0.0.0/0, ::/0" in result["diff"]["before"]["inbound_rules"]
    assert "tcp 8080 from 0.0.0.0/0, ::/0" in result["diff"]["after"]["inbound_rules"]
    assert result["diff"]["before"]["outbound_rules"] == result["diff"]["after"]["outbound_rules"]

    mark = emulator.mark()
    update = play([fw(name="web", inbound_rules=changed)], diff=True)
    assert update.rc == 0 and update.changed == 1, update.result("f")
    writes = emulator.writes(mark)
    firewall_id = update.result("f")["firewall"]["id"]
    assert [(w["method"], w["path"], w["body"]) for w in writes] == [
        (
            "POST",
            f"/v2/firewalls/{firewall_id}/rules",
            {"inbound_rules": [{"protocol": "tcp", "ports": "8080", "sources": {"addresses": ANY}}]},
        ),
        (
            "DELETE",
            f"/v2/firewalls/{firewall_id}/rules",
            {"inbound_rules": [{"protocol": "tcp", "ports": "80", "sources": {"addresses": ANY}}]},
        ),
    ], "the new rule is added before the old one goes; nothing else is sent"
    ports = sorted(r["ports"] for r in update.result("f")["firewall"]["inbound_rules"])
    assert ports == ["22", "443", "8080"]
    assert play([fw(name="web", inbound_rules=changed)]).changed == 0

    # Outbound rules not given are kept; given as [] they are removed (the inbound rules stay).
    mark = emulator.mark()
    closed = play([fw(name="web", outbound_rules=[])])
    assert closed.changed == 1 and closed.result("f")["firewall"]["outbound_rules"] == []
    assert [w["body"].keys() for w in emulator.writes(mark)] == [{"outbound_rules": None}.keys()]
    assert len(emulator.writes(mark)[0]["body"]["outbound_rules"]) == 3


def test_droplets_tags_and_rule_targets_by_name(emulator, do_client, play):
    ids = {n: do_client.droplets.create({"name": n, **DROPLET})["droplet"]["id"] for n in ("web-1", "web-2")}
    rules = [tcp(5432, droplets=["web-1"], tags=["app"]), tcp(22)]
    first = play([fw(name="db", inbound_rules=rules, droplets=["web-1"], tags=["a", "b"])])
    assert first.rc == 0, first.result("f")
    firewall = first.result("f")["firewall"]
    assert firewall["droplet_ids"] == [ids["web-1"]] and firewall["tags"] == ["a", "b"]
    pg = next(r for r in firewall["inbound_rules"] if r["ports"] == "5432")
    assert pg["sources"] == {"droplet_ids": [ids["web-1"]], "tags": ["app"]}
    # by id or by name is the same droplet
    same = play(
        [
            fw(
                name="db",
                inbound_rules=[tcp(5432, droplet_ids=[ids["web-1"]], tags=["app"]), tcp(22)],
                droplets=[str(ids["web-1"])],
            )
        ]
    )
    assert same.changed == 0, same.result("f")

    mark = emulator.mark()
    moved = play([fw(name="db", droplets=["web-2"], tags=["b", "c"])], diff=True)
    assert moved.rc == 0 and moved.changed == 1, moved.result("f")
    diff = moved.result("f")["diff"]
    assert diff["before"]["droplet_ids"] == [ids["web-1"]] and diff["after"]["droplet_ids"] == [ids["web-2"]]
    assert diff["before"]["tags"] == ["a", "b"] and diff["after"]["tags"] == ["b", "c"]
    assert [(w["method"], w["path"].rsplit("/", 1)[-1], w["body"]) for w in emulator.writes(mark)] == [
        ("POST", "tags", {"name": "c"}),
        ("POST", "droplets", {"droplet_ids": [ids["web-2"]]}),
        ("DELETE", "droplets", {"droplet_ids": [ids["web-1"]]}),
        ("POST", "tags", {"tags": ["c"]}),
        ("DELETE", "tags", {"tags": ["a"]}),
    ]
    assert moved.result("f")["firewall"]["inbound_rules"] == firewall["inbound_rules"], "rules untouched"
    assert play([fw(name="db", droplets=["web-2"], tags=["b", "c"])]).changed == 0


def test_rename_by_id_is_one_put_of_the_whole_firewall(emulator, play):
    created = play([fw(name="old-name", inbound_rules=WEB)]).result("f")["firewall"]
    mark = emulator.mark()
    renamed = play([fw(id=created["id"], name="new-name")])
    assert renamed.rc == 0 and renamed.changed == 1, renamed.result("f")
    writes = emulator.writes(mark)
    assert [(w["method"], w["path"]) for w in writes] == [("PUT", f"/v2/firewalls/{created['id']}")]
    body = writes[0]["body"]
    assert body["name"] == "new-name" and body["inbound_rules"] == created["inbound_rules"]
    assert body["outbound_rules"] == created["outbound_rules"]
    assert renamed.result("f")["firewall"]["inbound_rules"] == created["inbound_rules"]
    assert play([fw(id=created["id"], name="new-name")]).changed == 0
    missing = play([fw(id="0b0b0b0b-0000-4000-8000-000000000000", name="x1", inbound_rules=WEB)])
    assert missing.failed and "does not exist" in missing.result("f")["msg"]


def test_found_beyond_the_first_page(emulator, play):
    """25 firewalls: the 25th is on page 2 at DigitalOcean's default page size (20); then past 200."""
    seed_firewalls(emulator, [f"fw-{n:03d}" for n in range(25)])
    mark = emulator.mark()
    found = play([fw(name="fw-024", inbound_rules=[tcp(22)], outbound_rules=[])])
    assert found.rc == 0 and found.changed == 0, found.result("f")
    assert emulator.writes(mark) == [] and len(firewalls_in(emulator)) == 25

    seed_firewalls(emulator, [f"fw-{n:03d}" for n in range(25, 205)])
    mark = emulator.mark()
    changed = play([fw(name="fw-204", inbound_rules=[tcp(2222)], outbound_rules=[])])
    assert changed.rc == 0 and changed.changed == 1
    reads = [r["query"] for r in emulator.requests(mark) if r["method"] == "GET" and r["path"] == "/v2/firewalls"]
    assert reads == ["per_page=200&page=1", "per_page=200&page=2"]
    assert len(firewalls_in(emulator)) == 205, "found, not created again"


def test_ambiguous_name_lists_the_ids(emulator, do_client, play):
    body = {"name": "twin", "inbound_rules": [tcp("22")]}
    ids = [do_client.firewalls.create(body)["firewall"]["id"] for _ in range(2)]
    result = play([fw(name="twin", state="absent")])
    assert result.failed and "ambiguous" in result.result("f")["msg"]
    assert all(i in result.result("f")["msg"] for i in ids) and len(firewalls_in(emulator)) == 2


BAD_INPUT = [
    (
        {"inbound_rules": [tcp(22), {"protocol": "sctp", "ports": 22, "sources": {"addresses": ANY}}]},
        "inbound_rules[1] (sctp 22 from 0.0.0.0/0, ::/0): protocol must be tcp, udp or icmp",
    ),
    (
        {"inbound_rules": [tcp("70000")]},
        "inbound_rules[0] (tcp 70000 from 0.0.0.0/0, ::/0): ports '70000' is outside 1-65535",
    ),
    ({"inbound_rules": [tcp("http")]}, "ports 'http' is not a port"),
    (
        {"inbound_rules": [{"protocol": "icmp", "ports": 22, "sources": {"addresses": ANY}}]},
        "inbound_rules[0] (icmp 22 from 0.0.0.0/0, ::/0): icmp has no ports",
    ),
    (
        {"inbound_rules": [{"protocol": "tcp", "ports": 22, "sources": {"addresses": []}}]},
        "inbound_rules[0] (tcp 22 from nothing): sources names nothing",
    ),
    (
        {"outbound_rules": [{"protocol": "udp", "destinations": {"addresses": ANY}}]},
        "outbound_rules[0] (udp to 0.0.0.0/0, ::/0): udp needs ports",
    ),
    ({"inbound_rules": [tcp(22, addresses=["10.0.0.256"])]}, "'10.0.0.256' is not an IP address or CIDR"),
    ({"name": "-bad", "inbound_rules": [tcp(22)]}, "firewall name '-bad' is invalid"),
    ({"inbound_rules": [], "outbound_rules": []}, "needs at least one inbound or outbound rule"),
    ({"inbound_rules": [tcp(22, droplets=["nowhere"])]}, "no droplet named 'nowhere'"),
    ({"inbound_rules": [tcp(22)], "droplets": ["nowhere"]}, "droplets: no droplet named 'nowhere'"),
    ({"inbound_rules": [tcp(22)], "tags": ["no spaces"]}, "not valid tag names"),
]


def test_bad_input_fails_before_any_write(emulator, play):
    """Each case is its own task (ignore_errors), so one playbook checks them all."""
    tasks = [
        {**fw(register=f"bad{n}", **{"name": "bad", **args}), "ignore_errors": True}
        for n, (args, _e) in enumerate(BAD_INPUT)
    ]
    mark = emulator.mark()
    run = play(tasks)
    for n, (_args, expected) in enumerate(BAD_INPUT):
        result = run.result(f"bad{n}")
        assert result.get("failed"), (n, result)
        assert expected in result["msg"] and "Traceback" not in result["msg"], (n, result["msg"])
    assert emulator.writes(mark) == [] and firewalls_in(emulator) == []


def test_removing_every_rule_of_an_existing_firewall_is_refused(emulator, play):
    assert play([fw(name="web", inbound_rules=WEB)]).rc == 0
    mark = emulator.mark()
    result = play([fw(name="web", inbound_rules=[], outbound_rules=[])])
    assert result.failed and "would remove them all" in result.result("f")["msg"]
    assert emulator.writes(mark) == []


def test_api_refusal_is_surfaced_and_nothing_is_left(emulator, play):
    result = play([fw(name="ghost", inbound_rules=[tcp(22, droplet_ids=[424242])])])
    message = result.result("f")["msg"]
    assert result.failed and "HTTP 422" in message and "Droplet 424242 could not be found" in message
    assert firewalls_in(emulator) == []


def test_create_answered_500_is_not_duplicated(emulator, play):
    emulator.inject(method="POST", path="^/v2/firewalls$", status=500, after_commit=True)
    result = play([fw(name="once", inbound_rules=WEB)])
    assert result.rc == 0, result.result("f")
    assert [f["name"] for f in firewalls_in(emulator)] == ["once"]
    posts = [r for r in emulator.requests() if r["method"] == "POST" and r["path"] == "/v2/firewalls"]
    assert len(posts) == 1, "after a 500 the module looked the firewall up instead of re-sending the create"


def test_check_mode_accepts_droplets_an_earlier_task_would_create(emulator, play):
    tasks = [
        {"name": "d", "seaworthy.digitalocean.droplet": {"name": "web-9", **DROPLET}},
        fw(name="web", inbound_rules=[tcp(22, droplets=["web-9"])], droplets=["web-9"]),
    ]
    check = play(tasks, check=True, diff=True)
    assert check.rc == 0, check.result("f")
    result = check.result("f")
    assert result["diff"]["after"]["inbound_rules"] == ["tcp 22 from droplet:web-9"]
    assert any("web-9" in w for w in check.result("f").get("warnings", []))
    assert emulator.writes() == []
