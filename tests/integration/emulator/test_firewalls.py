"""Cloud Firewalls: rules in DigitalOcean's normal form, Droplets and tags, status, idempotent edits."""

from __future__ import annotations

import pytest

from .networking import api, droplet, refused

SSH = {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["18.0.0.0/8", "2001:db8::/32"]}}
WEB_OUT = {"protocol": "tcp", "ports": "80", "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}}


def test_firewall_lifecycle(emulator, do_client):
    do_client.tags.create({"name": "gateway"})
    web = droplet(do_client, "web-1")
    gate = droplet(do_client, "gate-1", tags=["gateway"])
    other = droplet(do_client, "db-1", region="fra1")

    created = do_client.firewalls.create(
        {
            "name": "web.firewall-1",
            "inbound_rules": [
                SSH,
                {"protocol": "icmp", "ports": "8", "sources": {"addresses": ["0.0.0.0/0"]}},
                {"protocol": "tcp", "ports": "all", "sources": {"tags": ["gateway"]}},
                {"protocol": "udp", "ports": "8000-9000", "sources": {"droplet_ids": [gate["id"]]}},
            ],
            "outbound_rules": [WEB_OUT],
            "droplet_ids": [web["id"]],
        }
    )["firewall"]
    assert created["status"] == "waiting"
    assert created["pending_changes"] == [{"droplet_id": web["id"], "removing": False, "status": "waiting"}]
    assert created["tags"] == [] and created["droplet_ids"] == [web["id"]] and created["created_at"]
    inbound = created["inbound_rules"]
    assert inbound[0] == SSH
    assert inbound[1]["ports"] == "0", "ICMP rules always show ports 0"
    assert inbound[2] == {"protocol": "tcp", "ports": "0", "sources": {"tags": ["gateway"]}}, "all ports is 0"
    assert inbound[3]["ports"] == "8000-9000"
    assert created["outbound_rules"] == [WEB_OUT]

    settled = do_client.firewalls.get(created["id"])["firewall"]
    assert settled["status"] == "succeeded" and settled["pending_changes"] == []

    # Droplets and tags, added twice and removed twice: the second call changes nothing.
    for _ in range(2):
        assert do_client.firewalls.assign_droplets(created["id"], {"droplet_ids": [other["id"]]}) is None
    assert do_client.firewalls.get(created["id"])["firewall"]["droplet_ids"] == [web["id"], other["id"]]
    for _ in range(2):
        do_client.firewalls.delete_droplets(created["id"], {"droplet_ids": [web["id"]]})
    for _ in range(2):
        do_client.firewalls.add_tags(created["id"], {"tags": ["gateway"]})
    changed = do_client.firewalls.get(created["id"])["firewall"]
    assert changed["droplet_ids"] == [other["id"]] and changed["tags"] == ["gateway"]
    do_client.firewalls.delete_tags(created["id"], {"tags": ["gateway"]})
    assert do_client.firewalls.get(created["id"])["firewall"]["tags"] == []

    # A Droplet that is destroyed leaves the firewall.
    do_client.droplets.destroy(other["id"])
    assert do_client.firewalls.get(created["id"])["firewall"]["droplet_ids"] == []

    # The droplet's own view lists the firewalls that apply to it.
    do_client.firewalls.assign_droplets(created["id"], {"droplet_ids": [web["id"]]})
    assert [f["id"] for f in do_client.droplets.list_firewalls(web["id"])["firewalls"]] == [created["id"]]

    # PUT is a full replacement: what is left out is reset.
    replaced = do_client.firewalls.update(
        created["id"], {"name": "web-firewall", "inbound_rules": [SSH], "tags": ["gateway"]}
    )["firewall"]
    assert replaced["name"] == "web-firewall" and replaced["status"] == "waiting"
    assert replaced["inbound_rules"] == [SSH] and replaced["outbound_rules"] == []
    assert replaced["droplet_ids"] == [] and replaced["tags"] == ["gateway"]
    assert replaced["pending_changes"] == [{"droplet_id": gate["id"], "removing": False, "status": "waiting"}]
    assert do_client.firewalls.get(created["id"])["firewall"]["status"] == "succeeded"

    assert do_client.firewalls.delete(created["id"]) is None
    assert refused(do_client.firewalls.get, created["id"])["id"] == "not_found"
    assert refused(do_client.firewalls.delete, created["id"])["id"] == "not_found"


def test_rules_added_and_removed_idempotently(emulator, do_client):
    firewall = do_client.firewalls.create({"name": "rules", "inbound_rules": [SSH]})["firewall"]
    http = {"protocol": "tcp", "ports": "80", "sources": {"addresses": ["0.0.0.0/0"]}}
    dns = {"protocol": "udp", "ports": "53", "destinations": {"addresses": ["9.9.9.9"]}}
    for _ in range(2):
        assert do_client.firewalls.add_rules(firewall["id"], {"inbound_rules": [http], "outbound_rules": [dns]}) is None
    current = do_client.firewalls.get(firewall["id"])["firewall"]
    assert current["inbound_rules"] == [SSH, http] and current["outbound_rules"] == [dns]

    # The same rule with its addresses in another order is the same rule.
    reordered = {**SSH, "sources": {"addresses": list(reversed(SSH["sources"]["addresses"]))}}
    do_client.firewalls.add_rules(firewall["id"], {"inbound_rules": [reordered]})
    assert len(do_client.firewalls.get(firewall["id"])["firewall"]["inbound_rules"]) == 2
    do_client.firewalls.delete_rules(firewall["id"], {"inbound_rules": [reordered]})
    assert do_client.firewalls.get(firewall["id"])["firewall"]["inbound_rules"] == [http]

    # Removing a rule the firewall does not have succeeds and changes nothing.
    absent = {"protocol": "tcp", "ports": "443", "sources": {"addresses": ["0.0.0.0/0"]}}
    assert do_client.firewalls.delete_rules(firewall["id"], {"inbound_rules": [absent]}) is None
    do_client.firewalls.delete_rules(firewall["id"], {"outbound_rules": [dns]})
    current = do_client.firewalls.get(firewall["id"])["firewall"]
    assert current["inbound_rules"] == [http] and current["outbound_rules"] == []

    # A rule naming a Droplet that is gone can still be removed.
    gone = droplet(do_client, "gone")
    by_droplet = {"protocol": "tcp", "ports": "5432", "sources": {"droplet_ids": [gone["id"]]}}
    do_client.firewalls.add_rules(firewall["id"], {"inbound_rules": [by_droplet]})
    do_client.droplets.destroy(gone["id"])
    do_client.firewalls.delete_rules(firewall["id"], {"inbound_rules": [by_droplet]})
    assert do_client.firewalls.get(firewall["id"])["firewall"]["inbound_rules"] == [http]


def test_firewalls_paginate(emulator, do_client):
    for n in range(25):
        do_client.firewalls.create({"name": f"fw-{n:02d}", "inbound_rules": [SSH]})
    first = do_client.firewalls.list()
    assert len(first["firewalls"]) == 20 and first["meta"]["total"] == 25
    assert set(first["links"]["pages"]) == {"next", "last"} and "page=2" in first["links"]["pages"]["next"]
    second = do_client.firewalls.list(page=2)
    assert [f["name"] for f in second["firewalls"]] == [f"fw-{n:02d}" for n in range(20, 25)]
    assert set(second["links"]["pages"]) == {"first", "prev"}
    names = {f["name"] for page in (1, 2) for f in do_client.firewalls.list(page=page)["firewalls"]}
    assert len(names) == 25


def test_invalid_firewalls_are_refused_and_nothing_changes(emulator, do_client):
    cases = [
        ({"protocol": "tcp", "ports": "abc", "sources": {"addresses": ["1.2.3.4"]}}, "valid range for ports"),
        ({"protocol": "tcp", "ports": "70000", "sources": {"addresses": ["1.2.3.4"]}}, "valid range for ports"),
        ({"protocol": "udp", "ports": "9000-8000", "sources": {"addresses": ["1.2.3.4"]}}, "valid range for ports"),
        ({"protocol": "udp", "ports": "", "sources": {"addresses": ["1.2.3.4"]}}, "valid range for ports"),
        ({"protocol": "tcp", "ports": "22", "sources": {"addresses": ["1.2.3.400"]}}, "invalid address"),
        ({"protocol": "tcp", "ports": "22", "sources": {}}, "at least one"),
        ({"protocol": "tcp", "ports": "22", "sources": {"droplet_ids": [999]}}, "Droplet 999"),
        ({"protocol": "tcp", "ports": "22", "sources": {"tags": ["no-such-tag"]}}, "no-such-tag"),
    ]
    for rule, words in cases:
        error = refused(do_client.firewalls.create, {"name": "bad", "inbound_rules": [rule]})
        assert error["status"] == 422 and words in error["message"], (rule, error)
    error = refused(do_client.firewalls.create, {"name": "bad", "inbound_rules": [], "outbound_rules": []})
    assert error["status"] == 422 and "at least one" in error["message"]
    error = refused(do_client.firewalls.create, {"name": "bad", "inbound_rules": [SSH], "droplet_ids": [424242]})
    assert error["status"] == 422 and "424242" in error["message"]
    assert do_client.firewalls.list()["meta"]["total"] == 0

    firewall = do_client.firewalls.create({"name": "good", "inbound_rules": [SSH]})["firewall"]
    bad_rule = {"protocol": "tcp", "ports": "0-1", "sources": {"addresses": ["1.2.3.4"]}}
    error = refused(do_client.firewalls.add_rules, firewall["id"], {"inbound_rules": [SSH, bad_rule]})
    assert error["status"] == 422
    error = refused(do_client.firewalls.assign_droplets, firewall["id"], {"droplet_ids": [31337]})
    assert error["status"] == 422 and "31337" in error["message"]
    error = refused(do_client.firewalls.add_tags, firewall["id"], {"tags": ["unknown"]})
    assert error["status"] == 422 and "unknown" in error["message"]
    error = refused(do_client.firewalls.update, firewall["id"], {"name": "good", "inbound_rules": [bad_rule]})
    assert error["status"] == 422
    assert do_client.firewalls.get(firewall["id"])["firewall"]["inbound_rules"] == [SSH], "nothing changed"
    missing = "bb4b2611-3d72-467b-8602-280330ecd65c"
    assert refused(do_client.firewalls.add_rules, missing, {"inbound_rules": [SSH]})["id"] == "not_found"


@pytest.mark.spec_violations_expected
def test_off_spec_firewalls_are_refused(emulator):
    for body in (
        {"name": "-leading-dash", "inbound_rules": [SSH]},
        {"name": "proto", "inbound_rules": [{**SSH, "protocol": "http"}]},
        {"name": "no-rules"},
    ):
        response = api(emulator, "POST", "/v2/firewalls", json=body)
        assert response.status_code == 422 and response.json()["id"] == "unprocessable_entity", body
    assert api(emulator, "GET", "/v2/firewalls").json()["meta"]["total"] == 0
