"""seaworthy.digitalocean.domain_record against the emulator, through real playbooks."""

from __future__ import annotations

import pytest

UNUSED = {"priority": None, "port": None, "weight": None, "flags": None, "tag": None}


def record(register="r", ignore_errors=False, **args):
    task = {"name": register, "seaworthy.digitalocean.domain_record": {"domain": "example.com", **args}}
    task["register"] = register
    if ignore_errors:
        task["ignore_errors"] = True
    return task


@pytest.fixture
def zone(do_client):
    do_client.domains.create({"name": "example.com"})
    return "example.com"


def records(emulator, rtype=None, name=None):
    return [
        r
        for r in emulator.state().get("domain_records", {}).values()
        if r["_domain"] == "example.com" and r["type"] != "SOA" and r["type"] == (rtype or r["type"])
        and r["name"] == (name or r["name"])
    ]  # fmt: skip


def writes(emulator, mark):
    return [(w["method"], w["path"], w["body"]) for w in emulator.writes(mark)]


def test_single_record_create_check_idempotent_update_delete(emulator, zone, play):
    args = {"type": "A", "name": "app.example.com.", "data": "203.0.113.10"}
    mark = emulator.mark()
    check = play([record(**args)], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1, check.result("r")
    assert check.result("r")["diff"]["after"] == {
        "domain": "example.com",
        "type": "A",
        "name": "app",
        "data": "203.0.113.10",
        "ttl": 1800,
    }
    assert emulator.writes(mark) == [] and records(emulator, "A") == []

    created = play([record(**args)])
    assert created.rc == 0 and created.changed == 1, created.result("r")
    result = created.result("r")["record"]
    assert result["name"] == "app" and result["data"] == "203.0.113.10" and result["ttl"] == 1800
    body = {"type": "A", "name": "app", "data": "203.0.113.10", "ttl": 1800, **UNUSED}
    assert writes(emulator, mark) == [("POST", "/v2/domains/example.com/records", body)]

    mark = emulator.mark()
    again = play([record(**{**args, "name": "app"})])
    assert again.rc == 0 and again.changed == 0 and again.result("r")["record"]["id"] == result["id"]
    assert emulator.writes(mark) == []
    reads = emulator.requests(mark)
    assert len(reads) == 1 and reads[0]["path"] == "/v2/domains/example.com/records"
    assert "name=app.example.com" in reads[0]["query"], "the API's name filter (an FQDN) narrows the read"
    assert play([record(**args)], check=True).changed == 0

    moved = {**args, "data": "203.0.113.20", "ttl": 300}
    check_update = play([record(**moved)], check=True, diff=True)
    diff = check_update.result("r")["diff"]
    assert check_update.changed == 1 and emulator.writes(mark) == []
    assert (diff["before"]["data"], diff["before"]["ttl"]) == ("203.0.113.10", 1800)
    assert (diff["after"]["data"], diff["after"]["ttl"]) == ("203.0.113.20", 300)
    update = play([record(**moved)])
    assert update.changed == 1 and update.result("r")["record"]["id"] == result["id"]
    assert writes(emulator, mark) == [
        ("PATCH", f"/v2/domains/example.com/records/{result['id']}", {"data": "203.0.113.20", "ttl": 300, "type": "A"})
    ]
    assert play([record(**moved)]).changed == 0

    mark = emulator.mark()
    check_gone = play([record(type="A", name="app", state="absent")], check=True, diff=True)
    assert check_gone.changed == 1 and check_gone.result("r")["diff"]["before"]["data"] == "203.0.113.20"
    assert emulator.writes(mark) == []
    gone = play([record(type="A", name="app", state="absent")])
    assert gone.changed == 1
    assert writes(emulator, mark) == [("DELETE", f"/v2/domains/example.com/records/{result['id']}", None)]
    assert play([record(type="A", name="app", state="absent")]).changed == 0


def test_every_type_with_its_fields_and_host_names_sent_with_a_final_dot(emulator, zone, play):
    tasks = [
        record("www", type="CNAME", name="www", data="@"),
        record("blog", type="CNAME", name="blog", data="Pages.Example.NET"),
        record("mx", type="MX", name="@", data="mail.example.net", priority=10),
        record("txt", type="TXT", name="@", data="v=spf1 -all"),
        record("ns", type="NS", name="sub", data="ns1.example.net."),
        record("srv", type="SRV", name="_sip._tcp", data="sip.example.com", priority=10, port=5060, weight=5),
        record("caa", type="CAA", name="@", data="letsencrypt.org", flags=0, tag="issue"),
        record("aaaa", type="AAAA", name="v6", data="2001:DB8:0:0::1"),
    ]
    mark = emulator.mark()
    first = play(tasks)
    assert first.rc == 0 and first.changed == 8, [first.result(t["name"]) for t in tasks]
    sent = {w["body"]["type"] + ":" + w["body"]["name"]: w["body"] for w in emulator.writes(mark)}
    assert sent["CNAME:www"]["data"] == "@" and sent["CNAME:blog"]["data"] == "pages.example.net."
    assert sent["MX:@"] == {
        "type": "MX",
        "name": "@",
        "data": "mail.example.net.",
        "ttl": 1800,
        **UNUSED,
        "priority": 10,
    }
    assert sent["TXT:@"] == {"type": "TXT", "name": "@", "data": "v=spf1 -all", "ttl": 1800, **UNUSED}
    assert sent["NS:sub"]["data"] == "ns1.example.net." and sent["SRV:_sip._tcp"]["data"] == "sip.example.com."
    assert (sent["SRV:_sip._tcp"]["port"], sent["SRV:_sip._tcp"]["weight"]) == (5060, 5)
    assert (sent["CAA:@"]["flags"], sent["CAA:@"]["tag"]) == (0, "issue")
    assert sent["AAAA:v6"]["data"] == "2001:db8::1"
    assert first.result("blog")["record"]["data"] == "pages.example.net"

    mark = emulator.mark()
    again = play(tasks)
    assert again.rc == 0 and again.changed == 0 and emulator.writes(mark) == []

    tasks[2] = record("mx", type="MX", name="@", data="mail.example.net.", priority=20)
    changed = play(tasks, diff=True)
    assert changed.changed == 1 and changed.result("mx")["diff"]["after"]["priority"] == 20
    mx_id = changed.result("mx")["record"]["id"]
    assert writes(emulator, mark) == [
        ("PATCH", f"/v2/domains/example.com/records/{mx_id}", {"priority": 20, "type": "MX"})
    ]


def test_multiple_records_of_one_name(emulator, zone, play):
    rr = {"type": "A", "name": "app", "multiple": True}
    first = play([record("a", **rr, data="203.0.113.1"), record("b", **rr, data="203.0.113.2")])
    assert first.rc == 0 and first.changed == 2
    assert sorted(r["data"] for r in records(emulator, "A", "app")) == ["203.0.113.1", "203.0.113.2"]
    mark = emulator.mark()
    assert play([record("a", **rr, data="203.0.113.1"), record("b", **rr, data="203.0.113.2")]).changed == 0
    assert emulator.writes(mark) == []

    ids = sorted(r["id"] for r in records(emulator, "A", "app"))
    run = play(
        [
            record("single", ignore_errors=True, type="A", name="app", data="203.0.113.3"),
            record("nodata", ignore_errors=True, **rr),
        ]
    )
    single = run.result("single")["msg"]
    assert "2 records match" in single and all(str(i) in single for i in ids) and "multiple: true" in single
    assert "identifies a record by its data" in run.result("nodata")["msg"]
    assert emulator.writes(mark) == []

    check = play([record(**rr, data="203.0.113.1", state="absent")], check=True, diff=True)
    assert check.changed == 1 and check.result("r")["diff"]["before"]["data"] == "203.0.113.1"
    removed = play([record(**rr, data="203.0.113.1", state="absent")])
    assert removed.changed == 1 and [r["data"] for r in records(emulator, "A", "app")] == ["203.0.113.2"]
    assert [w["method"] for w in emulator.writes(mark)] == ["DELETE"]

    caa = {"type": "CAA", "name": "@", "data": "letsencrypt.org", "flags": 0, "multiple": True}
    both = play([record("issue", **caa, tag="issue"), record("wild", **caa, tag="issuewild")])
    assert both.changed == 2 and sorted(r["tag"] for r in records(emulator, "CAA")) == ["issue", "issuewild"]


def test_identity_by_id_renames_and_deletes(emulator, zone, do_client, play):
    rid = do_client.domains.create_record(
        "example.com", {"type": "TXT", "name": "old", "data": "hello", "ttl": 1800, "flags": None, "tag": None}
    )["domain_record"]["id"]
    renamed = play([record(id=rid, name="new", data="hello", ttl=600)], diff=True)
    assert renamed.rc == 0 and renamed.changed == 1, renamed.result("r")
    assert renamed.result("r")["diff"]["after"]["name"] == "new"
    assert renamed.result("r")["record"]["name"] == "new" and renamed.result("r")["record"]["ttl"] == 600
    run = play(
        [
            record("again", id=rid, data="hello", ttl=600),
            record("retype", ignore_errors=True, id=rid, type="A", data="203.0.113.1"),
            record("gone", id=rid, state="absent"),
            record("gone2", id=rid, state="absent"),
            record("missing", ignore_errors=True, id=rid, data="hello"),
        ]
    )
    assert run.result("again")["changed"] is False
    assert "a record's type cannot change" in run.result("retype")["msg"]
    assert run.result("gone")["changed"] is True and run.result("gone2")["changed"] is False
    assert "does not exist" in run.result("missing")["msg"]


def test_bad_input_fails_clearly_before_any_write(emulator, zone, do_client, play):
    do_client.domains.create_record("example.com", {"type": "A", "name": "taken", "data": "203.0.113.5"})
    cases = {
        "mxprio": ({"type": "MX", "data": "mail.example.net"}, "MX records need priority"),
        "notip": ({"type": "A", "name": "x", "data": "not-an-ip"}, "data 'not-an-ip' is not an IPv4 address"),
        "v4in6": ({"type": "AAAA", "name": "x", "data": "192.0.2.1"}, "is not an IPv6 address"),
        "bare": ({"type": "CNAME", "name": "x", "data": "mail"}, "must be a fully qualified host name"),
        "apex": ({"type": "CNAME", "name": "@", "data": "example.net"}, "cannot be at the domain apex"),
        "prio": ({"type": "A", "name": "x", "data": "192.0.2.1", "priority": 5}, "priority is not used by A records"),
        "outside": ({"type": "A", "name": "www.other.org.", "data": "192.0.2.1"}, "is not inside domain example.com"),
        "badname": ({"type": "A", "name": "bad name", "data": "192.0.2.1"}, "record name 'bad name' is invalid"),
        "ttl": ({"type": "A", "name": "x", "data": "192.0.2.1", "ttl": 10}, "ttl must be at least 30"),
        "srv": ({"type": "SRV", "name": "_x._tcp", "data": "h.example.com", "priority": 1}, "need port and weight"),
        "flags": ({"type": "CAA", "data": "ca.example", "flags": 300, "tag": "issue"}, "flags must be from 0 to 255"),
        "nodata": ({"type": "A", "name": "x"}, "A records need data"),
        "conflict": ({"type": "CNAME", "name": "taken", "data": "example.net"}, "conflicts with the A record"),
        "nodomain": ({"domain": "nope.example", "type": "A", "name": "x", "data": "192.0.2.1"}, "nope.example does not exist"),
    }  # fmt: skip
    mark = emulator.mark()
    run = play([record(key, ignore_errors=True, **args) for key, (args, _) in cases.items()])
    for key, (_, expected) in cases.items():
        result = run.result(key)
        assert result.get("failed") and expected in result["msg"], (key, result)
        assert "Traceback" not in result["msg"]
    assert emulator.writes(mark) == []
    assert [r["name"] for r in records(emulator, "A")] == ["taken"]


def test_create_answered_500_is_not_duplicated(emulator, zone, play):
    emulator.inject(method="POST", path="^/v2/domains/example.com/records$", status=500, after_commit=True)
    result = play([record(type="MX", name="@", data="mx.example.net", priority=10, multiple=True)])
    assert result.rc == 0 and result.changed == 1, result.result("r")
    assert len(records(emulator, "MX")) == 1
    assert len([r for r in emulator.requests() if r["method"] == "POST" and "records" in r["path"]]) == 1
