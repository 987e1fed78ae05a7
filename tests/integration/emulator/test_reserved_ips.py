"""Reserved IPs: reserved to a region or assigned to a Droplet, assign/unassign actions, limits."""

from __future__ import annotations

import ipaddress

from .networking import droplet, refused

DOCUMENTATION = (ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_network("192.0.2.0/24"))


def test_reserved_ip_lifecycle(emulator, do_client):
    web = droplet(do_client, "web-1")
    spare = droplet(do_client, "web-2")
    far = droplet(do_client, "far-1", region="fra1")
    default_project = do_client.projects.get_default()["project"]["id"]

    reserved = do_client.reserved_ips.create({"region": "nyc3"})
    assert reserved["links"] == {}
    ip = reserved["reserved_ip"]
    assert ipaddress.ip_address(ip["ip"]) in DOCUMENTATION[0]
    assert ip["droplet"] is None and ip["locked"] is False and ip["region"]["slug"] == "nyc3"
    assert ip["project_id"] == default_project

    # Created for a Droplet: locked, no Droplet yet, links to the Droplet and the assign action.
    assigned = do_client.reserved_ips.create({"droplet_id": web["id"]})
    held = assigned["reserved_ip"]
    assert held["locked"] is True and held["droplet"] is None and held["region"]["slug"] == "nyc3"
    assert assigned["links"]["droplets"][0]["id"] == web["id"]
    (link,) = assigned["links"]["actions"]
    assert link["rel"] == "assign_ip" and link["href"].endswith(f"/v2/actions/{link['id']}")
    settled = do_client.reserved_ips.get(held["ip"])["reserved_ip"]
    assert settled["locked"] is False and settled["droplet"]["id"] == web["id"]
    assert settled["droplet"]["name"] == "web-1" and settled["droplet"]["status"] == "active"
    assert do_client.actions.get(link["id"])["action"]["status"] == "completed"

    # Actions on the region-reserved IP: assign, then move to another Droplet, then unassign.
    action = do_client.reserved_ips_actions.post(ip["ip"], {"type": "assign", "droplet_id": spare["id"]})["action"]
    assert action["type"] == "assign_ip" and action["status"] == "in-progress"
    assert action["resource_type"] == "reserved_ip" and action["region_slug"] == "nyc3"
    assert action["project_id"] == default_project
    assert do_client.reserved_ips.get(ip["ip"])["reserved_ip"]["droplet"]["id"] == spare["id"]
    fetched = do_client.reserved_ips_actions.get(ip["ip"], action["id"])["action"]
    assert fetched["status"] == "completed" and fetched["completed_at"]

    error = refused(do_client.reserved_ips_actions.post, ip["ip"], {"type": "assign", "droplet_id": web["id"]})
    assert error["status"] == 422 and "already has reserved IP" in error["message"]
    error = refused(do_client.reserved_ips_actions.post, ip["ip"], {"type": "assign", "droplet_id": far["id"]})
    assert error["status"] == 422 and "fra1" in error["message"]

    unassign = do_client.reserved_ips_actions.post(ip["ip"], {"type": "unassign"})["action"]
    assert unassign["type"] == "unassign_ip"
    assert do_client.reserved_ips.get(ip["ip"])["reserved_ip"]["droplet"] is None
    error = refused(do_client.reserved_ips_actions.post, ip["ip"], {"type": "unassign"})
    assert error["status"] == 422 and "not assigned" in error["message"]
    history = do_client.reserved_ips_actions.list(ip["ip"])
    assert [a["type"] for a in history["actions"]] == ["unassign_ip", "assign_ip"]
    assert history["meta"]["total"] == 2
    assert refused(do_client.reserved_ips_actions.get, ip["ip"], link["id"])["id"] == "not_found"

    # A destroyed Droplet leaves its reserved IP unassigned, still in the account.
    do_client.droplets.destroy(web["id"])
    assert do_client.reserved_ips.get(held["ip"])["reserved_ip"]["droplet"] is None

    listed = do_client.reserved_ips.list(per_page=1)
    assert listed["meta"]["total"] == 2 and len(listed["reserved_ips"]) == 1 and "next" in listed["links"]["pages"]
    assert do_client.reserved_ips.delete(ip["ip"]) is None
    assert refused(do_client.reserved_ips.get, ip["ip"])["id"] == "not_found"
    assert refused(do_client.reserved_ips_actions.list, ip["ip"])["id"] == "not_found"
    assert [r["ip"] for r in do_client.reserved_ips.list()["reserved_ips"]] == [held["ip"]]


def test_reserved_ips_are_unique_and_limited(emulator, do_client):
    project = do_client.projects.create({"name": "edge", "purpose": "Web Application"})["project"]
    ips = [do_client.reserved_ips.create({"region": "ams3", "project_id": project["id"]}) for _ in range(20)]
    addresses = [r["reserved_ip"]["ip"] for r in ips]
    assert len(set(addresses)) == 20
    assert all(r["reserved_ip"]["project_id"] == project["id"] for r in ips)
    urns = {r["urn"] for r in do_client.projects.list_resources(project["id"])["resources"]}
    assert urns == {f"do:floatingip:{a}" for a in addresses}

    error = refused(do_client.reserved_ips.create, {"region": "ams3"})
    assert error["status"] == 422 and "limit" in error["message"]
    page = do_client.reserved_ips.list(page=2, per_page=15)
    assert page["meta"]["total"] == 20 and len(page["reserved_ips"]) == 5


def test_invalid_reserved_ips_are_refused_and_nothing_is_created(emulator, do_client):
    for body, words in (
        ({"region": "mars1"}, "mars1"),
        ({"droplet_id": 424242}, "424242"),
        ({"region": "nyc3", "project_id": "746c6152-2fa2-11ed-92d3-27aaa54e4988"}, "Project"),
    ):
        error = refused(do_client.reserved_ips.create, body)
        assert error["status"] == 422 and words in error["message"], body
    assert do_client.reserved_ips.list()["meta"]["total"] == 0
    assert refused(do_client.reserved_ips.get, "203.0.113.77")["id"] == "not_found"

    ip = do_client.reserved_ips.create({"region": "nyc3"})["reserved_ip"]["ip"]
    error = refused(do_client.reserved_ips_actions.post, ip, {"type": "assign", "droplet_id": 424242})
    assert error["status"] == 422 and "424242" in error["message"]
    assert do_client.reserved_ips_actions.list(ip)["actions"] == []
