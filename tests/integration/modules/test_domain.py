"""seaworthy.digitalocean.domain against the emulator, through real playbooks."""

from __future__ import annotations


def domain(register="d", ignore_errors=False, **args):
    task = {"name": register, "seaworthy.digitalocean.domain": args, "register": register}
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def records_of(emulator, name):
    return [r for r in emulator.state().get("domain_records", {}).values() if r["_domain"] == name]


def test_create_check_idempotent_delete(emulator, play):
    mark = emulator.mark()
    check = play([domain(name="Example.COM.", ip_address="203.0.113.10")], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1
    assert check.result("d")["diff"]["after"] == {"name": "example.com", "ip_address": "203.0.113.10"}
    assert emulator.writes(mark) == [] and emulator.state().get("domains", {}) == {}

    created = play([domain(name="Example.COM.", ip_address="203.0.113.10")])
    assert created.rc == 0 and created.changed == 1, created.result("d")
    result = created.result("d")["domain"]
    assert result["name"] == "example.com" and "IN A 203.0.113.10" in result["zone_file"]
    assert [(w["method"], w["path"], w["body"]) for w in emulator.writes(mark)] == [
        ("POST", "/v2/domains", {"name": "example.com", "ip_address": "203.0.113.10"})
    ]
    assert sorted(r["type"] for r in records_of(emulator, "example.com")) == ["A", "NS", "NS", "NS", "SOA"]

    mark = emulator.mark()
    again = play([domain(name="example.com", ip_address="198.51.100.1")])
    assert again.rc == 0 and again.changed == 0, "ip_address is only used at creation"
    assert emulator.writes(mark) == [] and [r["path"] for r in emulator.requests(mark)] == ["/v2/domains/example.com"]
    assert play([domain(name="example.com")], check=True).changed == 0

    check_gone = play([domain(name="example.com", state="absent")], check=True, diff=True)
    assert check_gone.changed == 1 and check_gone.result("d")["diff"]["before"] == {"name": "example.com"}
    assert emulator.writes(mark) == []
    gone = play([domain(name="example.com", state="absent")])
    assert gone.changed == 1
    assert [(w["method"], w["path"]) for w in emulator.writes(mark)] == [("DELETE", "/v2/domains/example.com")]
    assert play([domain(name="example.com", state="absent")]).changed == 0
    assert emulator.state().get("domains", {}) == {}


def test_bad_input_fails_clearly_and_creates_nothing(emulator, play):
    cases = {
        "notadomain": ({"name": "not a domain"}, "'not a domain' is not a domain name"),
        "single": ({"name": "localhost"}, "is not a domain name"),
        "badip": ({"name": "example.com", "ip_address": "300.1.1.1"}, "ip_address '300.1.1.1' is not an IPv4"),
        "v6": ({"name": "example.com", "ip_address": "2001:db8::1"}, "is not an IPv4 address"),
    }
    mark = emulator.mark()
    run = play([domain(key, ignore_errors=True, **args) for key, (args, _) in cases.items()])
    for key, (_, expected) in cases.items():
        result = run.result(key)
        assert result.get("failed") and expected in result["msg"], (key, result)
    assert emulator.requests(mark) == [], "rejected before any call"
    assert emulator.state().get("domains", {}) == {}


def test_create_answered_500_is_not_duplicated(emulator, play):
    emulator.inject(method="POST", path="^/v2/domains$", status=500, after_commit=True)
    result = play([domain(name="once.example.com")])
    assert result.rc == 0 and result.changed == 1, result.result("d")
    assert result.result("d")["domain"]["name"] == "once.example.com"
    assert len([r for r in emulator.requests() if r["method"] == "POST"]) == 1
    assert list(emulator.state()["domains"]) == ["once.example.com"]
