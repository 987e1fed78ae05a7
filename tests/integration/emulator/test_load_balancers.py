"""Load balancers: lifecycle, Droplets by id or tag, forwarding rules, full-replacement updates, validation."""

from __future__ import annotations

import ipaddress

import pytest

from .networking import api, droplet, refused

HTTP = {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 8080}
PASSTHROUGH = {
    "entry_protocol": "https",
    "entry_port": 443,
    "target_protocol": "https",
    "target_port": 443,
    "tls_passthrough": True,
}


def test_load_balancer_lifecycle(emulator, do_client):
    web1, web2 = droplet(do_client, "web-1"), droplet(do_client, "web-2")
    far = droplet(do_client, "far-1", region="fra1")
    created = do_client.load_balancers.create(
        {
            "name": "web-lb",
            "region": "nyc3",
            "droplet_ids": [web1["id"]],
            "forwarding_rules": [HTTP, PASSTHROUGH],
            "health_check": {"protocol": "tcp", "port": 8080},
            "sticky_sessions": {"type": "cookies", "cookie_name": "DO-LB", "cookie_ttl_seconds": 300},
            "redirect_http_to_https": True,
        }
    )["load_balancer"]
    assert created["status"] == "new" and created["ip"] == ""
    assert created["droplet_ids"] == [web1["id"]] and created["tag"] == ""
    assert created["forwarding_rules"][0] == {**HTTP, "certificate_id": "", "tls_passthrough": False}
    assert created["health_check"] == {
        "protocol": "tcp",
        "port": 8080,
        "path": "/",
        "check_interval_seconds": 10,
        "response_timeout_seconds": 5,
        "healthy_threshold": 5,
        "unhealthy_threshold": 3,
    }
    assert created["sticky_sessions"]["cookie_name"] == "DO-LB" and created["redirect_http_to_https"] is True
    assert created["enable_proxy_protocol"] is False and created["http_idle_timeout_seconds"] == 60
    assert created["size_unit"] == 1 and created["size"] == "lb-small" and created["region"]["slug"] == "nyc3"
    assert created["firewall"] == {"deny": [], "allow": []}
    assert created["vpc_uuid"] == web1["vpc_uuid"], "the region's default VPC"
    assert created["project_id"] == do_client.projects.get_default()["project"]["id"]

    active = do_client.load_balancers.get(created["id"])["load_balancer"]
    assert active["status"] == "active" and ipaddress.ip_address(active["ip"]) in ipaddress.ip_network(
        "198.51.100.0/24"
    )
    members = do_client.vpcs.list_members(created["vpc_uuid"], resource_type="loadbalancer")["members"]
    assert [m["urn"] for m in members] == [f"do:loadbalancer:{created['id']}"]

    # Droplets: added twice, removed twice; only Droplets of the region.
    for _ in range(2):
        assert do_client.load_balancers.add_droplets(created["id"], {"droplet_ids": [web2["id"]]}) is None
    assert do_client.load_balancers.get(created["id"])["load_balancer"]["droplet_ids"] == [web1["id"], web2["id"]]
    error = refused(do_client.load_balancers.add_droplets, created["id"], {"droplet_ids": [far["id"]]})
    assert error["status"] == 422 and "fra1" in error["message"]
    for _ in range(2):
        do_client.load_balancers.remove_droplets(created["id"], {"droplet_ids": [web1["id"]]})
    do_client.droplets.destroy(web2["id"])
    assert do_client.load_balancers.get(created["id"])["load_balancer"]["droplet_ids"] == []

    # Forwarding rules: a new entry port is added once; a clash or removing them all is refused.
    tcp = {"entry_protocol": "tcp", "entry_port": 5432, "target_protocol": "tcp", "target_port": 5432}
    for _ in range(2):
        assert do_client.load_balancers.add_forwarding_rules(created["id"], {"forwarding_rules": [tcp]}) is None
    rules = do_client.load_balancers.get(created["id"])["load_balancer"]["forwarding_rules"]
    assert [r["entry_port"] for r in rules] == [80, 443, 5432]
    clash = {**HTTP, "target_port": 9090}
    error = refused(do_client.load_balancers.add_forwarding_rules, created["id"], {"forwarding_rules": [clash]})
    assert error["status"] == 422 and "entry_port 80" in error["message"]
    do_client.load_balancers.remove_forwarding_rules(created["id"], {"forwarding_rules": [PASSTHROUGH, tcp]})
    error = refused(do_client.load_balancers.remove_forwarding_rules, created["id"], {"forwarding_rules": [HTTP]})
    assert error["status"] == 422 and "at least one" in error["message"]
    rules = do_client.load_balancers.get(created["id"])["load_balancer"]["forwarding_rules"]
    assert [r["entry_port"] for r in rules] == [80]

    # PUT replaces the configuration: what is left out goes back to its default.
    updated = do_client.load_balancers.update(
        created["id"],
        {
            "name": "web-lb-2",
            "region": "nyc3",
            "droplet_ids": [web1["id"]],
            "forwarding_rules": [HTTP],
            "size_unit": 3,
            "firewall": {"deny": ["cidr:1.2.0.0/16"], "allow": ["ip:1.2.3.4"]},
        },
    )["load_balancer"]
    assert updated["name"] == "web-lb-2" and updated["droplet_ids"] == [web1["id"]]
    assert updated["sticky_sessions"] == {"type": "none"} and updated["redirect_http_to_https"] is False
    assert updated["health_check"]["protocol"] == "http" and updated["health_check"]["port"] == 80
    assert updated["size_unit"] == 3 and updated["size"] == "lb-medium"
    assert updated["firewall"]["deny"] == ["cidr:1.2.0.0/16"]
    assert updated["status"] == "active" and updated["ip"] == active["ip"]
    error = refused(
        do_client.load_balancers.update,
        created["id"],
        {"name": "x", "region": "fra1", "droplet_ids": [], "forwarding_rules": [HTTP]},
    )
    assert error["status"] == 422 and "regions" in error["message"]

    listed = do_client.load_balancers.list()
    assert listed["meta"]["total"] == 1 and listed["load_balancers"][0]["name"] == "web-lb-2"
    assert do_client.load_balancers.delete(created["id"]) is None
    assert refused(do_client.load_balancers.get, created["id"])["id"] == "not_found"
    assert all(
        not r["urn"].startswith("do:loadbalancer") for r in do_client.projects.list_resources_default()["resources"]
    )


def test_load_balancer_by_tag_in_a_project_and_vpc(emulator, do_client):
    vpc = do_client.vpcs.create({"name": "lb-net", "region": "sfo3"})["vpc"]
    tagged = droplet(do_client, "app-1", region="sfo3", tags=["app"], vpc_uuid=vpc["id"])
    droplet(do_client, "app-far", region="ams3", tags=["app"])
    project = do_client.projects.create({"name": "apps", "purpose": "Service or API"})["project"]

    lb = do_client.load_balancers.create(
        {
            "name": "app-lb",
            "region": "sfo3",
            "tag": "app",
            "vpc_uuid": vpc["id"],
            "project_id": project["id"],
            "forwarding_rules": [HTTP],
            "network_stack": "DUALSTACK",
        }
    )["load_balancer"]
    assert lb["tag"] == "app" and lb["droplet_ids"] == [tagged["id"]], "tagged Droplets of the region only"
    assert lb["vpc_uuid"] == vpc["id"] and lb["project_id"] == project["id"]
    later = droplet(do_client, "app-2", region="sfo3", tags=["app"], vpc_uuid=vpc["id"])
    active = do_client.load_balancers.get(lb["id"])["load_balancer"]
    assert active["droplet_ids"] == [tagged["id"], later["id"]], "new tagged Droplets join"
    assert active["ipv6"]

    error = refused(do_client.load_balancers.add_droplets, lb["id"], {"droplet_ids": [tagged["id"]]})
    assert error["status"] == 422 and "tag" in error["message"]
    resources = do_client.projects.list_resources(project["id"])["resources"]
    assert [r["urn"] for r in resources] == [f"do:loadbalancer:{lb['id']}"]

    internal = do_client.load_balancers.create(
        {"name": "inside", "region": "sfo3", "droplet_ids": [], "forwarding_rules": [HTTP], "network": "INTERNAL"}
    )["load_balancer"]
    internal = do_client.load_balancers.get(internal["id"])["load_balancer"]
    assert internal["vpc_uuid"] == vpc["id"], "the first VPC of sfo3 is its default"
    assert ipaddress.ip_address(internal["ip"]) in ipaddress.ip_network(vpc["ip_range"]), "no public IP"
    assert "ipv6" not in internal


def test_invalid_load_balancers_are_refused_and_nothing_is_created(emulator, do_client):
    web = droplet(do_client, "web-1")
    base = {"name": "lb", "region": "nyc3", "droplet_ids": [web["id"]], "forwarding_rules": [HTTP]}
    https = {"entry_protocol": "https", "entry_port": 443, "target_protocol": "http", "target_port": 80}
    cases = [
        ({"forwarding_rules": [https]}, "certificate_id"),
        ({"forwarding_rules": [{**HTTP, "target_protocol": "udp"}]}, "UDP"),
        ({"forwarding_rules": [{**PASSTHROUGH, "target_protocol": "http"}]}, "tls_passthrough"),
        ({"forwarding_rules": [{**HTTP, "entry_port": 0}]}, "entry_port"),
        ({"forwarding_rules": [HTTP, {**HTTP, "target_port": 81}]}, "entry_port 80"),
        ({"health_check": {"check_interval_seconds": 1}}, "check_interval_seconds"),
        ({"health_check": {"healthy_threshold": 11}}, "healthy_threshold"),
        ({"sticky_sessions": {"type": "cookies"}}, "cookie_name"),
        ({"firewall": {"allow": ["host:1.2.3.4"]}}, "ip:1.2.3.4"),
        ({"droplet_ids": [424242]}, "424242"),
        ({"region": "ams2"}, "ams2"),
        ({"size": "lb-large", "size_unit": 2}, "size"),
        ({"vpc_uuid": "c33931f2-a26a-4e61-b85c-4e95a2ec431b"}, "VPC"),
        ({"project_id": "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30"}, "Project"),
        ({"name": "-bad"}, "name"),
    ]
    for change, words in cases:
        error = refused(do_client.load_balancers.create, {**base, **change})
        assert error["status"] == 422 and words in error["message"], (change, error["message"])
    assert do_client.load_balancers.list()["meta"]["total"] == 0
    assert refused(do_client.load_balancers.get, "4de7ac8b-495b-4884-9a69-1050c6793cd6")["id"] == "not_found"


@pytest.mark.spec_violations_expected
def test_droplet_ids_and_tag_are_mutually_exclusive(emulator, do_client):
    web = droplet(do_client, "web-1", tags=["web"])
    body = {"name": "lb", "region": "nyc3", "droplet_ids": [web["id"]], "tag": "web", "forwarding_rules": [HTTP]}
    response = api(emulator, "POST", "/v2/load_balancers", json=body)
    assert response.status_code == 422
    assert do_client.load_balancers.list()["meta"]["total"] == 0
