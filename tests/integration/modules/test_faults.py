"""Issue 5: under 429s, 5xx, slow answers and creates that succeed but answer 500,
a playbook ends with exactly the resources it declares -- no duplicates, nothing missing."""

from __future__ import annotations

from tests.support.stack_tasks import infrastructure


def counts(state: dict) -> dict:
    records = [r for r in state.get("domain_records", {}).values() if r["type"] == "A"]
    return {
        "vpcs": sorted(v["name"] for v in state.get("vpcs", {}).values() if not v["name"].startswith("default-")),
        "droplets": sorted(d["name"] for d in state.get("droplets", {}).values()),
        "firewalls": sorted(f["name"] for f in state.get("firewalls", {}).values()),
        "domains": sorted(state.get("domains", {})),
        "records": sorted(r["name"] for r in records),
    }


EXPECTED = {
    "vpcs": ["app-production-vpc"],
    "droplets": sorted(f"app-{n}" for n in range(1, 11)),
    "firewalls": ["app-admin", "app-web"],
    "domains": ["app.example.com"],
    "records": ["host0", "host1", "host2"],
}


def test_faults_leave_exactly_the_declared_resources(emulator, play):
    traps = [
        {"method": "POST", "path": "^/v2/vpcs$", "status": 500, "after_commit": True},
        {"method": "POST", "path": "^/v2/droplets$", "status": 500, "after_commit": True},
        {"method": "POST", "path": "^/v2/firewalls$", "status": 503, "after_commit": True},
        {"method": "POST", "path": "^/v2/domains$", "status": 500, "after_commit": True},
        {"method": "POST", "path": "/records$", "status": 500, "after_commit": True, "count": 2},
    ]
    refusals = [
        {"method": "POST", "path": "^/v2/firewalls$", "status": 429, "retry_after": 1},
        {"method": "GET", "path": "^/v2/droplets$", "status": 429, "retry_after": 1, "count": 2},
        {"method": "GET", "path": "^/v2/(vpcs|firewalls)$", "status": 503, "count": 3},
        {"method": "GET", "path": "^/v2/domains", "status": 500, "count": 2},
        {"method": "POST", "path": "/tags/.*/resources$", "status": 503, "count": 2},
    ]
    slow = [{"method": "GET", "path": "^/v2/droplets/\\d+$", "delay": 0.7, "count": 5}]
    for rule in traps + refusals + slow:
        emulator.inject(**rule)

    result = play(infrastructure(droplets=10))
    assert result.rc == 0, [t["result"].get("msg") for t in result.tasks if t["result"].get("failed")]
    assert counts(emulator.state()) == EXPECTED

    faulted = [r for r in emulator.requests() if r["fault"] is not None]
    assert len(faulted) >= 15, "the faults were really met"
    assert not [
        r for r in emulator.requests() if r["method"] == "POST" and r["path"] == "/v2/droplets" and r["status"] == 202
    ][1:], "the 10 droplets came from one multi-create; after its 500 they were found, not created again"

    again = play(infrastructure(droplets=10))
    assert again.rc == 0 and again.changed == 0
    assert counts(emulator.state()) == EXPECTED
