"""Domains and records: default records, per-type validation, filters, updates, the DNS backend in sync.

The spec makes `flags` and `tag` required for NS, SRV and TXT records (and the
emulator checks requests against it), so such records are sent with them as
null, as the spec's own examples do.
"""

from __future__ import annotations

import pytest

from .networking import api, refused

NULLS = {"flags": None, "tag": None}


def zone(emulator, name: str) -> list[dict] | None:
    return emulator.app.backends.dns.zones.get(name)


def test_domain_lifecycle(emulator, do_client):
    created = do_client.domains.create({"name": "Example.com", "ip_address": "192.0.2.10"})["domain"]
    assert created == {"name": "example.com", "ttl": 1800, "zone_file": None}

    records = do_client.domains.list_records("example.com")["domain_records"]
    assert [(r["type"], r["name"], r["data"]) for r in records] == [
        ("SOA", "@", "1800"),
        ("NS", "@", "ns1.digitalocean.com"),
        ("NS", "@", "ns2.digitalocean.com"),
        ("NS", "@", "ns3.digitalocean.com"),
        ("A", "@", "192.0.2.10"),
    ]
    assert all(r["ttl"] == 1800 and r["priority"] is None and r["weight"] is None for r in records)

    zone_file = do_client.domains.get("example.com")["domain"]["zone_file"]
    assert zone_file.startswith("$ORIGIN example.com.\n$TTL 1800\nexample.com. IN SOA ns1.digitalocean.com.")
    assert "example.com. 1800 IN A 192.0.2.10" in zone_file
    assert "example.com. 1800 IN NS ns3.digitalocean.com." in zone_file

    www = do_client.domains.create_record("example.com", {"type": "A", "name": "www", "data": "192.0.2.11"})
    www = www["domain_record"]
    assert www["name"] == "www" and www["ttl"] == 1800 and www["port"] is None
    alias = do_client.domains.create_record(
        "example.com", {"type": "CNAME", "name": "blog", "data": "www.example.com.", "ttl": 300}
    )["domain_record"]
    assert alias["data"] == "www.example.com" and alias["ttl"] == 300
    apex_alias = do_client.domains.create_record("example.com", {"type": "CNAME", "name": "home", "data": "@"})
    assert apex_alias["domain_record"]["data"] == "@"
    mail = do_client.domains.create_record(
        "example.com", {"type": "MX", "name": "@", "data": "example.com.", "priority": 10}
    )["domain_record"]
    assert mail["data"] == "@" and mail["priority"] == 10, "the domain itself reads back as @"
    srv = do_client.domains.create_record(
        "example.com",
        {"type": "SRV", "name": "_sip._tcp", "data": "sip.example.org.", "priority": 1, "port": 5060, "weight": 5}
        | NULLS,
    )["domain_record"]
    assert (srv["priority"], srv["port"], srv["weight"], srv["data"]) == (1, 5060, 5, "sip.example.org")
    caa = do_client.domains.create_record(
        "example.com", {"type": "CAA", "name": "@", "data": "letsencrypt.org", "flags": 0, "tag": "issue"}
    )["domain_record"]
    assert (caa["flags"], caa["tag"]) == (0, "issue")
    do_client.domains.create_record("example.com", {"type": "TXT", "name": "@", "data": "v=spf1 -all"} | NULLS)
    do_client.domains.create_record("example.com", {"type": "AAAA", "name": "www", "data": "2001:DB8::1"})

    zone_file = do_client.domains.get("example.com")["domain"]["zone_file"]
    assert "blog.example.com. 300 IN CNAME www.example.com." in zone_file
    assert "example.com. 1800 IN MX 10 example.com." in zone_file
    assert "_sip._tcp.example.com. 1800 IN SRV 1 5 5060 sip.example.org." in zone_file
    assert 'example.com. 1800 IN CAA 0 issue "letsencrypt.org"' in zone_file
    assert 'example.com. 1800 IN TXT "v=spf1 -all"' in zone_file

    # Filters: `name` is the fully qualified name, `type` the record type.
    by_name = do_client.domains.list_records("example.com", name="www.example.com")["domain_records"]
    assert sorted(r["type"] for r in by_name) == ["A", "AAAA"]
    aaaa = do_client.domains.list_records("example.com", name="www.example.com", type="AAAA")["domain_records"]
    assert [r["data"] for r in aaaa] == ["2001:db8::1"]
    apex_ns = do_client.domains.list_records("example.com", name="example.com", type="NS")
    assert apex_ns["meta"]["total"] == 3
    assert do_client.domains.list_records("example.com", name="www")["domain_records"] == [], "not an FQDN"

    # Updates: PATCH and PUT change what they name; the type stays.
    patched = do_client.domains.patch_record("example.com", www["id"], {"type": "A", "data": "192.0.2.12"})
    assert patched["domain_record"] == {**www, "data": "192.0.2.12"}
    put = do_client.domains.update_record("example.com", www["id"], {"type": "A", "name": "web", "ttl": 60})
    assert put["domain_record"]["name"] == "web" and put["domain_record"]["ttl"] == 60
    unchanged = do_client.domains.update_record("example.com", alias["id"], {"type": "CNAME", "ttl": 600})
    assert unchanged["domain_record"]["data"] == "www.example.com"
    soa = next(r for r in records if r["type"] == "SOA")
    assert (
        do_client.domains.patch_record("example.com", soa["id"], {"type": "SOA", "ttl": 3600})["domain_record"]["ttl"]
        == 3600
    )
    assert do_client.domains.get_record("example.com", www["id"])["domain_record"]["data"] == "192.0.2.12"

    # The DNS backend serves exactly the API's records.
    served = zone(emulator, "example.com")
    assert sorted(r["id"] for r in served) == sorted(
        r["id"] for r in do_client.domains.list_records("example.com", per_page=200)["domain_records"]
    )
    assert next(r for r in served if r["id"] == www["id"])["name"] == "web"

    assert do_client.domains.delete_record("example.com", www["id"]) is None
    assert refused(do_client.domains.get_record, "example.com", www["id"])["id"] == "not_found"
    assert www["id"] not in {r["id"] for r in zone(emulator, "example.com")}

    do_client.domains.create({"name": "example.org"})
    listed = do_client.domains.list()
    assert [d["name"] for d in listed["domains"]] == ["example.com", "example.org"]
    assert listed["domains"][1]["zone_file"].count(" IN NS ") == 3

    assert do_client.domains.delete("example.com") is None
    assert refused(do_client.domains.get, "example.com")["id"] == "not_found"
    assert refused(do_client.domains.list_records, "example.com")["id"] == "not_found"
    assert zone(emulator, "example.com") is None
    assert [r["urn"] for r in do_client.projects.list_resources_default()["resources"]] == ["do:domain:example.org"]


def test_records_paginate(emulator, do_client):
    do_client.domains.create({"name": "many.example"})
    for n in range(25):
        do_client.domains.create_record("many.example", {"type": "TXT", "name": f"t{n:02d}", "data": f"n={n}"} | NULLS)
    first = do_client.domains.list_records("many.example")
    assert len(first["domain_records"]) == 20 and first["meta"]["total"] == 29
    assert "page=2" in first["links"]["pages"]["next"]
    last = do_client.domains.list_records("many.example", page=2)
    assert len(last["domain_records"]) == 9 and set(last["links"]["pages"]) == {"first", "prev"}
    filtered = do_client.domains.list_records("many.example", type="TXT", per_page=10, page=3)
    assert filtered["meta"]["total"] == 25 and len(filtered["domain_records"]) == 5
    assert "type=TXT" in filtered["links"]["pages"]["first"], "filters survive in the page links"


def test_invalid_domains_and_records_are_refused(emulator, do_client):
    for body, words in (
        ({"name": "not a domain"}, "invalid"),
        ({"name": "localhost"}, "invalid"),
        ({"name": "ok.example", "ip_address": "999.1.1.1"}, "IPv4"),
    ):
        error = refused(do_client.domains.create, body)
        assert error["status"] == 422 and words in error["message"], body
    assert do_client.domains.list()["meta"]["total"] == 0
    do_client.domains.create({"name": "ok.example"})
    error = refused(do_client.domains.create, {"name": "ok.example"})
    assert error["status"] == 422 and "already exists" in error["message"]

    cases = [
        ({"type": "A", "name": "a", "data": "2001:db8::1"}, "IPv4"),
        ({"type": "AAAA", "name": "a", "data": "192.0.2.1"}, "IPv6"),
        ({"type": "CNAME", "name": "c", "data": "www.example.org"}, "end with a dot"),
        ({"type": "CNAME", "name": "@", "data": "www.example.org."}, "apex"),
        ({"type": "MX", "name": "@", "data": "mx.example.org.", "priority": 70000}, "priority"),
        ({"type": "A", "name": "bad name", "data": "192.0.2.1"}, "invalid"),
        ({"type": "A", "name": "short", "data": "192.0.2.1", "ttl": 10}, "TTL"),
        ({"type": "CAA", "name": "@", "data": "ca.example", "flags": 0, "tag": "issuer"}, "issue"),
        ({"type": "CAA", "name": "@", "data": "ca.example", "flags": 256, "tag": "issue"}, "flags"),
        (
            {"type": "SRV", "name": "_x._tcp", "data": "h.example.", "priority": 0, "port": 0, "weight": 0} | NULLS,
            "port",
        ),
        ({"type": "TXT", "name": "t", "data": ""} | NULLS, "data"),
        ({"type": "SOA", "name": "@", "ttl": 1800}, "SOA"),
    ]
    for body, words in cases:
        error = refused(do_client.domains.create_record, "ok.example", body)
        assert error["status"] == 422 and words in error["message"], (body, error["message"])

    www = do_client.domains.create_record("ok.example", {"type": "A", "name": "www", "data": "192.0.2.1"})
    error = refused(do_client.domains.create_record, "ok.example", {"type": "CNAME", "name": "www", "data": "@"})
    assert error["status"] == 422 and "CNAME" in error["message"]
    error = refused(do_client.domains.patch_record, "ok.example", www["domain_record"]["id"], {"type": "AAAA"})
    assert error["status"] == 422 and "type cannot be changed" in error["message"]
    soa = do_client.domains.list_records("ok.example", type="SOA")["domain_records"][0]
    error = refused(do_client.domains.delete_record, "ok.example", soa["id"])
    assert error["status"] == 422 and "SOA" in error["message"]
    assert do_client.domains.list_records("ok.example")["meta"]["total"] == 5, "nothing was created"

    error = refused(do_client.domains.create_record, "nope.example", {"type": "A", "name": "a", "data": "192.0.2.1"})
    assert error["id"] == "not_found"
    other = do_client.domains.create({"name": "other.example"})["domain"]
    error = refused(do_client.domains.get_record, other["name"], www["domain_record"]["id"])
    assert error["id"] == "not_found", "a record is only found under its own domain"


@pytest.mark.spec_violations_expected
def test_records_missing_what_the_spec_requires_are_refused(emulator, do_client):
    do_client.domains.create({"name": "spec.example"})
    for body in (
        {"type": "MX", "data": "mx.example.org."},  # no priority
        {"type": "TXT", "name": "t", "data": "x"},  # no flags/tag: required by the spec
        {"type": "A", "name": "a"},  # no data
    ):
        response = api(emulator, "POST", "/v2/domains/spec.example/records", json=body)
        assert response.status_code == 422, body
    assert do_client.domains.list_records("spec.example")["meta"]["total"] == 4
