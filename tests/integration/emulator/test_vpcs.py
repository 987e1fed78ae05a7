"""VPCs: defaults per region, address ranges, updates, members and guarded deletes."""

from __future__ import annotations

import ipaddress

import pytest

from .networking import api, droplet, refused


def test_vpc_lifecycle(emulator, do_client):
    first = do_client.vpcs.create({"name": "prod-net", "region": "nyc3", "description": "production"})["vpc"]
    assert first["default"] is True, "the first VPC of a region becomes its default"
    generated = ipaddress.ip_network(first["ip_range"])
    assert generated.prefixlen == 20 and generated.is_private
    assert first["urn"] == f"do:vpc:{first['id']}"

    second = do_client.vpcs.create({"name": "stage-net", "region": "nyc3", "ip_range": "10.10.10.0/24"})["vpc"]
    assert second["default"] is False and second["ip_range"] == "10.10.10.0/24" and second["description"] == ""
    other_region = do_client.vpcs.create({"name": "fra-net", "region": "fra1"})["vpc"]
    assert other_region["default"] is True
    assert not generated.overlaps(ipaddress.ip_network(other_region["ip_range"]))

    page = do_client.vpcs.list(per_page=2)
    assert page["meta"]["total"] == 3 and len(page["vpcs"]) == 2 and "next" in page["links"]["pages"]
    assert [v["name"] for v in do_client.vpcs.list(per_page=2, page=2)["vpcs"]] == ["fra-net"]
    assert do_client.vpcs.get(second["id"])["vpc"] == second

    renamed = do_client.vpcs.update(second["id"], {"name": "staging-net", "description": "staging"})["vpc"]
    assert renamed["name"] == "staging-net" and renamed["description"] == "staging"
    patched = do_client.vpcs.patch(second["id"], {"default": True})["vpc"]
    assert patched["default"] is True
    assert do_client.vpcs.get(first["id"])["vpc"]["default"] is False, "one default per region"
    assert do_client.vpcs.get(other_region["id"])["vpc"]["default"] is True, "other regions keep theirs"

    # Members: a Droplet placed in the VPC, found by resource type too.
    member = droplet(do_client, "web-1", vpc_uuid=second["id"])
    members = do_client.vpcs.list_members(second["id"])
    assert members["meta"]["total"] == 1
    assert members["members"][0]["urn"] == f"do:droplet:{member['id']}"
    assert members["members"][0]["name"] == "web-1" and members["members"][0]["created_at"]
    assert do_client.vpcs.list_members(second["id"], resource_type="droplet")["meta"]["total"] == 1
    assert do_client.vpcs.list_members(second["id"], resource_type="loadbalancer")["members"] == []
    assert do_client.vpcs.list_members(first["id"])["members"] == []

    # Deletes refused while the VPC is the default or has members (403, as documented).
    do_client.vpcs.patch(first["id"], {"default": True})
    error = refused(do_client.vpcs.delete, second["id"])
    assert error["status"] == 403 and "member" in error["message"]
    do_client.droplets.destroy(member["id"])
    error = refused(do_client.vpcs.delete, first["id"])
    assert error["status"] == 403 and "default" in error["message"]

    assert do_client.vpcs.delete(second["id"]) is None
    assert refused(do_client.vpcs.get, second["id"])["id"] == "not_found"
    assert do_client.vpcs.list()["meta"]["total"] == 2


def test_default_vpc_is_made_on_first_need(emulator, do_client):
    made = droplet(do_client, "lonely", region="sgp1")
    (vpc,) = do_client.vpcs.list()["vpcs"]
    assert vpc["id"] == made["vpc_uuid"] and vpc["default"] is True and vpc["name"] == "default-sgp1"
    own = do_client.vpcs.create({"name": "second-sgp1", "region": "sgp1"})["vpc"]
    assert own["default"] is False


def test_members_of_every_kind(emulator, do_client):
    vpc = do_client.vpcs.create({"name": "mixed", "region": "nyc3"})["vpc"]
    web = droplet(do_client, "web-1", vpc_uuid=vpc["id"])
    rule = {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}
    lb = do_client.load_balancers.create(
        {"name": "lb", "region": "nyc3", "droplet_ids": [web["id"]], "forwarding_rules": [rule]}
    )["load_balancer"]
    db = do_client.databases.create_cluster(
        {"name": "store-db", "engine": "pg", "region": "nyc3", "size": "db-s-1vcpu-1gb", "num_nodes": 1}
    )["database"]
    urns = [m["urn"] for m in do_client.vpcs.list_members(vpc["id"])["members"]]
    assert urns == [f"do:droplet:{web['id']}", f"do:loadbalancer:{lb['id']}", f"do:dbaas:{db['id']}"]
    page = do_client.vpcs.list_members(vpc["id"], per_page=2, page=2)
    assert page["meta"]["total"] == 3 and [m["name"] for m in page["members"]] == ["store-db"]
    assert [m["name"] for m in do_client.vpcs.list_members(vpc["id"], resource_type="dbaas")["members"]] == ["store-db"]


def test_invalid_vpcs_are_refused_and_nothing_is_created(emulator, do_client):
    do_client.vpcs.create({"name": "taken", "region": "nyc3", "ip_range": "10.20.0.0/16"})
    cases = [
        ({"name": "taken", "region": "nyc1"}, "already exists"),
        ({"name": "overlap", "region": "nyc1", "ip_range": "10.20.128.0/24"}, "overlaps"),
        ({"name": "public", "region": "nyc1", "ip_range": "8.8.8.0/24"}, "RFC1918"),
        ({"name": "too-big", "region": "nyc1", "ip_range": "10.0.0.0/15"}, "/16"),
        ({"name": "too-small", "region": "nyc1", "ip_range": "192.168.1.0/29"}, "/28"),
        ({"name": "host-bits", "region": "nyc1", "ip_range": "10.30.0.5/24"}, "CIDR"),
        ({"name": "nowhere", "region": "mars1"}, "mars1"),
    ]
    for body, words in cases:
        error = refused(do_client.vpcs.create, body)
        assert error["status"] == 422 and error["id"] == "unprocessable_entity", body
        assert words in error["message"], (body, error["message"])
    assert [v["name"] for v in do_client.vpcs.list()["vpcs"]] == ["taken"]

    vpc = do_client.vpcs.list()["vpcs"][0]
    error = refused(do_client.vpcs.patch, vpc["id"], {"default": False})
    assert error["status"] == 422 and "cannot be unset" in error["message"]
    assert refused(do_client.vpcs.get, "4de7ac8b-495b-4884-9a69-1050c6793cd6")["id"] == "not_found"


@pytest.mark.spec_violations_expected
def test_vpc_name_pattern_is_enforced(emulator):
    response = api(emulator, "POST", "/v2/vpcs", json={"name": "bad name!", "region": "nyc3"})
    assert response.status_code == 422
    assert api(emulator, "GET", "/v2/vpcs").json()["meta"]["total"] == 0
