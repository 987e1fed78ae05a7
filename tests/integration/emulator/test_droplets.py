"""Droplets end to end through pydo: create, lifecycle, lists, actions, backups, sub-resources, delete."""

from __future__ import annotations

import base64
import ipaddress
import struct
import time

import pydo
import pytest
from azure.core.exceptions import HttpResponseError

from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator

BASE = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}


def _pubkey(n: int) -> str:
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + n.to_bytes(32, "big")
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} key{n}"


def _create(do_client, name: str, **extra) -> dict:
    return do_client.droplets.create({"name": name, **BASE, **extra})["droplet"]


def _act(do_client, droplet_id: int, **body) -> dict:
    return do_client.droplet_actions.post(droplet_id, {**body})["action"]


def _refused(call, status: int = 422) -> str:
    with pytest.raises(HttpResponseError) as info:
        call()
    assert info.value.status_code == status
    return info.value.response.json()["message"]


def test_create_is_new_then_active_with_networks(emulator, do_client):
    key = do_client.ssh_keys.create({"name": "ops", "public_key": _pubkey(1)})["ssh_key"]
    other = do_client.ssh_keys.create({"name": "ci", "public_key": _pubkey(2)})["ssh_key"]
    created = do_client.droplets.create(
        {
            "name": "web-1",
            **BASE,
            "ssh_keys": [key["id"], other["fingerprint"]],
            "tags": ["web", "env:prod"],
            "backups": True,
            "ipv6": True,
            "monitoring": True,
            "user_data": "#cloud-config\nruncmd: [touch /ok]\n",
        }
    )
    droplet = created["droplet"]
    assert droplet["status"] == "new" and droplet["networks"] == {"v4": [], "v6": []}
    assert set(droplet["features"]) >= {"backups", "monitoring", "ipv6", "private_networking"}
    assert droplet["size"]["slug"] == droplet["size_slug"] == "s-1vcpu-1gb" and droplet["memory"] == 1024
    assert droplet["image"]["slug"] == "debian-12-x64" and droplet["region"]["slug"] == "nyc3"
    assert droplet["kernel"] is None and droplet["locked"] is False and droplet["tags"] == ["web", "env:prod"]
    (link,) = created["links"]["actions"]
    assert link["rel"] == "create" and link["href"].endswith(f"/v2/actions/{link['id']}")

    assert do_client.actions.get(link["id"])["action"]["status"] == "completed"
    droplet = do_client.droplets.get(droplet["id"])["droplet"]
    assert droplet["status"] == "active"
    v4 = {n["type"]: n["ip_address"] for n in droplet["networks"]["v4"]}
    vpc = emulator.state()["vpcs"][droplet["vpc_uuid"]]
    assert vpc["default"] and vpc["region"] == "nyc3"
    assert ipaddress.ip_address(v4["private"]) in ipaddress.ip_network(vpc["ip_range"])
    assert ipaddress.ip_address(v4["public"]).is_global is False  # never routed
    assert len(droplet["networks"]["v6"]) == 1
    assert droplet["next_backup_window"]["start"] < droplet["next_backup_window"]["end"]
    assert {"web", "env:prod"} <= {t["name"] for t in do_client.tags.list()["tags"]}


def test_multi_create_lists_pages_and_filters(emulator, do_client):
    for batch in range(3):
        names = [f"node-{batch * 10 + i:02d}" for i in range(10 if batch < 2 else 5)]
        created = do_client.droplets.create({"names": names, **BASE, "tags": [f"batch-{batch}"]})
        assert [d["name"] for d in created["droplets"]] == names
        assert len(created["links"]["actions"]) == len(names)

    first = do_client.droplets.list(per_page=10)
    assert first["meta"]["total"] == 25 and len(first["droplets"]) == 10
    assert set(first["links"]["pages"]) == {"next", "last"} and "page=3" in first["links"]["pages"]["last"]
    pages = [do_client.droplets.list(per_page=10, page=p)["droplets"] for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [10, 10, 5]
    names = [d["name"] for page in pages for d in page]
    assert names == [f"node-{n:02d}" for n in range(25)], "listed once each, in creation order"
    assert all(d["status"] == "active" for page in pages for d in page)

    assert [d["name"] for d in do_client.droplets.list(tag_name="batch-2")["droplets"]] == [
        f"node-{n}" for n in range(20, 25)
    ]
    assert [d["name"] for d in do_client.droplets.list(name="NODE-07")["droplets"]] == ["node-07"]
    assert do_client.droplets.list(type="gpus")["droplets"] == []
    assert "tag_name" in _refused(lambda: do_client.droplets.list(tag_name="batch-1", name="node-01"))


def test_invalid_creates_are_refused_and_create_nothing(emulator, do_client):
    other_region_vpc = do_client.vpcs.create({"name": "fra-net", "region": "fra1"})["vpc"]["id"]
    far_volume = do_client.volumes.create({"name": "far", "region": "ams3", "size_gigabytes": 5})["volume"]
    cases = {
        "Region 'xyz9'": {"region": "xyz9"},
        "Size 'huge'": {"size": "huge"},
        "invalid image": {"image": "windows-95"},
        "too small": {"size": "s-1vcpu-512mb-10gb"},
        "SSH key": {"ssh_keys": ["aa:bb:cc"]},
        "does not exist": {"vpc_uuid": "6f9b4a8e-0000-4000-8000-000000000000"},
        "cannot join": {"vpc_uuid": other_region_vpc},
        "Tag name 'bad tag'": {"tags": ["bad tag"]},
        "same region": {"volumes": [far_volume["id"]]},
        "backups: true": {"backup_policy": {"plan": "weekly", "weekday": "MON", "hour": 4}},
        "64 KiB": {"user_data": "x" * (64 * 1024 + 1)},
    }
    for expected, extra in cases.items():
        message = _refused(lambda extra=extra: do_client.droplets.create({"name": "nope", **BASE, **extra}))
        assert expected in message, (extra, message)
    too_many = [f"n{i}" for i in range(11)]
    assert "1 to 10" in _refused(lambda: do_client.droplets.create({"names": too_many, **BASE}))

    state = emulator.state()
    assert state.get("droplets", {}) == {}
    assert "bad" not in state.get("tags", {})
    assert [v["id"] for v in state["vpcs"].values() if v["region"] == "nyc3"] == [], "no default VPC made"


def test_unknown_droplet_is_404(emulator, do_client):
    assert do_client.droplets.get(1234)["id"] == "not_found"
    assert do_client.droplet_actions.post(1234, {"type": "reboot"})["id"] == "not_found"
    assert do_client.droplets.destroy(1234)["id"] == "not_found"


def test_created_behind_a_500_exists_once(emulator):
    """The duplicate-create trap: the droplet is made, the client sees 500 and must look before retrying."""
    client = pydo.Client(
        token=emulator.token, endpoint=emulator.url, connection_verify=str(emulator.ca_bundle), retry_total=0
    )
    emulator.inject(method="POST", path="^/v2/droplets$", status=500, after_commit=True)
    with pytest.raises(HttpResponseError) as info:
        client.droplets.create({"name": "trap", **BASE})
    assert info.value.status_code == 500
    listed = client.droplets.list(name="trap")["droplets"]
    assert len(listed) == 1 and listed[0]["status"] == "active"
    assert len(emulator.state()["droplets"]) == 1


def test_power_and_resize_actions_complete_with_their_effects(emulator, do_client):
    droplet = _create(do_client, "app-1")
    assert "power it off" in _refused(lambda: _act(do_client, droplet["id"], type="resize", size="s-2vcpu-4gb"))

    action = _act(do_client, droplet["id"], type="power_off")
    assert action["status"] == "in-progress" and action["type"] == "power_off"
    assert action["resource_id"] == droplet["id"] and action["region_slug"] == "nyc3"
    assert do_client.droplet_actions.get(droplet["id"], action["id"])["action"]["status"] == "completed"
    assert do_client.droplets.get(droplet["id"])["droplet"]["status"] == "off"

    _act(do_client, droplet["id"], type="resize", size="s-2vcpu-4gb")  # CPU and RAM only: reversible
    resized = do_client.droplets.get(droplet["id"])["droplet"]
    assert (resized["size_slug"], resized["memory"], resized["vcpus"], resized["disk"]) == ("s-2vcpu-4gb", 4096, 2, 25)
    _act(do_client, droplet["id"], type="resize", size="s-1vcpu-1gb")
    _act(do_client, droplet["id"], type="resize", size="s-2vcpu-2gb", disk=True)  # permanent
    grown = do_client.droplets.get(droplet["id"])["droplet"]
    assert grown["disk"] == 60 and grown["disk_info"][0]["size"]["amount"] == 60
    assert "decrease" in _refused(lambda: _act(do_client, droplet["id"], type="resize", size="s-1vcpu-2gb"))
    assert "Size 'nope'" in _refused(lambda: _act(do_client, droplet["id"], type="resize", size="nope"))

    _act(do_client, droplet["id"], type="enable_ipv6")
    _act(do_client, droplet["id"], type="power_on")
    _act(do_client, droplet["id"], type="rename", name="app-renamed")
    _act(do_client, droplet["id"], type="reboot")
    _act(do_client, droplet["id"], type="password_reset")
    final = do_client.droplets.get(droplet["id"])["droplet"]
    assert final["status"] == "active" and final["name"] == "app-renamed"
    assert "ipv6" in final["features"] and len(final["networks"]["v6"]) == 1

    history = do_client.droplet_actions.list(droplet["id"], per_page=3)
    assert history["meta"]["total"] == 10 and len(history["actions"]) == 3
    assert [a["type"] for a in history["actions"]] == ["password_reset", "reboot", "rename"]
    assert history["actions"][-1]["status"] == "completed"


def test_snapshot_action_makes_an_image(emulator, do_client):
    droplet = _create(do_client, "db-1")
    action = _act(do_client, droplet["id"], type="snapshot", name="db-1-before-upgrade")
    assert do_client.actions.get(action["id"])["action"]["status"] == "completed"
    (snapshot,) = do_client.droplets.list_snapshots(droplet["id"])["snapshots"]
    assert snapshot["name"] == "db-1-before-upgrade" and snapshot["type"] == "snapshot"
    assert snapshot["regions"] == ["nyc3"] and snapshot["min_disk_size"] == 25
    assert do_client.droplets.get(droplet["id"])["droplet"]["snapshot_ids"] == [snapshot["id"]]
    image = do_client.images.get(snapshot["id"])["image"]
    assert image["type"] == "snapshot" and image["public"] is False

    clone = _create(do_client, "db-2", image=snapshot["id"])
    assert clone["image"]["id"] == snapshot["id"]
    assert "not available in region" in _refused(
        lambda: do_client.droplets.create({"name": "db-3", **BASE, "region": "sfo3", "image": snapshot["id"]})
    )


def test_backups_policy_lifecycle(emulator, do_client):
    droplet = _create(do_client, "backed", backups=True, backup_policy={"plan": "weekly", "weekday": "TUE", "hour": 8})
    policy = do_client.droplets.get_backup_policy(droplet["id"])["policy"]
    assert policy["backup_enabled"] is True
    assert policy["backup_policy"] == {
        "plan": "weekly",
        "weekday": "TUE",
        "hour": 8,
        "window_length_hours": 4,
        "retention_period_days": 28,
    }
    assert policy["next_backup_window"]["start"].endswith("T08:00:00Z")

    _act(do_client, droplet["id"], type="disable_backups")
    view = do_client.droplets.get(droplet["id"])["droplet"]
    assert "backups" not in view["features"] and view["next_backup_window"] is None
    assert do_client.droplets.get_backup_policy(droplet["id"])["policy"] == {
        "droplet_id": droplet["id"],
        "backup_enabled": False,
    }
    _act(do_client, droplet["id"], type="enable_backups", backup_policy={"plan": "daily", "hour": 20})

    plain = _create(do_client, "plain")
    policies = do_client.droplets.list_backup_policies()["policies"]
    assert policies[str(plain["id"])] == {"droplet_id": plain["id"], "backup_enabled": False}
    daily = policies[str(droplet["id"])]["backup_policy"]
    assert (daily["plan"], daily["hour"], daily["retention_period_days"]) == ("daily", 20, 7)
    supported = {p["name"]: p for p in do_client.droplets.list_supported_backup_policies()["supported_policies"]}
    assert supported["weekly"]["possible_days"][0] == "MON" and supported["daily"]["retention_period_days"] == 7
    assert do_client.droplets.list_backups(droplet["id"])["backups"] == []


def test_errored_action_leaves_the_droplet_as_it_was(emulator, do_client):
    droplet = _create(do_client, "steady")
    emulator.inject(method="POST", path="/actions$", action_error=True)
    action = _act(do_client, droplet["id"], type="power_off")
    assert action["status"] == "in-progress"
    assert do_client.actions.get(action["id"])["action"]["status"] == "errored"
    assert do_client.droplets.get(droplet["id"])["droplet"]["status"] == "active"
    _act(do_client, droplet["id"], type="power_off")  # the fault was for one request
    assert do_client.droplets.get(droplet["id"])["droplet"]["status"] == "off"

    emulator.inject(method="POST", path="^/v2/droplets$", action_error=True)
    doomed = do_client.droplets.create({"name": "doomed", **BASE})
    assert do_client.actions.get(doomed["links"]["actions"][0]["id"])["action"]["status"] == "errored"
    assert do_client.droplets.list(name="doomed")["droplets"] == [], "a failed create leaves no droplet"


def test_one_action_at_a_time(emulator, do_client, monkeypatch):
    # Delays long enough that a loaded machine still sees the in-between state; the ends are
    # polled for, not slept for.
    def status_becomes(droplet_id, status):
        deadline = time.monotonic() + 15
        while do_client.droplets.get(droplet_id)["droplet"]["status"] != status:
            assert time.monotonic() < deadline, f"droplet never became {status}"
            time.sleep(0.1)

    monkeypatch.setattr(emulator.app.config, "delay_droplet", 2.0)
    droplet = _create(do_client, "busy")
    assert do_client.droplets.get(droplet["id"])["droplet"]["status"] == "new"
    assert _refused(lambda: _act(do_client, droplet["id"], type="reboot")) == "Droplet already has a pending event."
    status_becomes(droplet["id"], "active")

    monkeypatch.setattr(emulator.app.config, "delay_action", 2.0)
    first = _act(do_client, droplet["id"], type="power_off")
    assert "pending event" in _refused(lambda: _act(do_client, droplet["id"], type="power_on"))
    assert do_client.droplets.get(droplet["id"])["droplet"]["status"] == "active", "no effect before completion"
    status_becomes(droplet["id"], "off")
    assert do_client.actions.get(first["id"])["action"]["status"] == "completed"


def test_actions_on_tagged_droplets(emulator, do_client):
    do_client.droplets.create({"names": ["w1", "w2", "w3"], **BASE, "tags": ["workers"]})
    bystander = _create(do_client, "db")
    actions = do_client.droplet_actions.post_by_tag({"type": "power_off"}, tag_name="workers")["actions"]
    assert len(actions) == 3 and {a["type"] for a in actions} == {"power_off"}
    statuses = {d["name"]: d["status"] for d in do_client.droplets.list()["droplets"]}
    assert statuses == {"w1": "off", "w2": "off", "w3": "off", "db": "active"}
    snaps = do_client.droplet_actions.post_by_tag({"type": "snapshot", "name": "nightly"}, tag_name="workers")
    assert len(snaps["actions"]) == 3
    assert len(do_client.snapshots.list(resource_type="droplet")["snapshots"]) == 3
    assert do_client.droplets.get(bystander["id"])["droplet"]["snapshot_ids"] == []


def test_sub_resources(emulator, do_client):
    droplet = _create(do_client, "edge", tags=["frontend"])
    untouched = _create(do_client, "other", tags=["backend"])
    ssh = {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0"]}}
    for name, targets in (
        ("by-id", {"droplet_ids": [droplet["id"]]}),
        ("by-tag", {"tags": ["frontend"]}),
        ("elsewhere", {"droplet_ids": [untouched["id"]], "tags": ["backend"]}),
    ):
        do_client.firewalls.create({"name": name, "inbound_rules": [ssh], **targets})
    firewalls = do_client.droplets.list_firewalls(droplet["id"])["firewalls"]
    assert sorted(f["name"] for f in firewalls) == ["by-id", "by-tag"]
    assert do_client.droplets.list_kernels(droplet["id"])["kernels"] == []
    assert do_client.droplets.list_neighbors(droplet["id"])["droplets"] == []
    assert do_client.droplets.list_neighbors_ids()["neighbor_ids"] == []
    assert do_client.droplets.list_snapshots(droplet["id"])["meta"]["total"] == 0


def test_delete_releases_what_the_droplet_held(emulator, do_client):
    volume = do_client.volumes.create({"name": "keep", "region": "nyc3", "size_gigabytes": 10})["volume"]
    droplet = _create(do_client, "gone", volumes=[volume["id"]])
    assert do_client.droplets.get(droplet["id"])["droplet"]["volume_ids"] == [volume["id"]]
    assert do_client.volumes.get(volume["id"])["volume"]["droplet_ids"] == [droplet["id"]]
    other = _create(do_client, "stays")
    ssh = {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0"]}}
    firewall = do_client.firewalls.create(
        {"name": "fw", "inbound_rules": [ssh], "droplet_ids": [droplet["id"], other["id"]]}
    )["firewall"]
    reserved = do_client.reserved_ips.create({"droplet_id": droplet["id"]})["reserved_ip"]
    gone_urn = f"do:droplet:{droplet['id']}"
    assert gone_urn in [r["urn"] for r in do_client.projects.list_resources_default()["resources"]]

    assert do_client.droplets.destroy(droplet["id"]) is None
    assert do_client.droplets.get(droplet["id"])["id"] == "not_found"
    assert do_client.volumes.get(volume["id"])["volume"]["droplet_ids"] == []
    assert do_client.firewalls.get(firewall["id"])["firewall"]["droplet_ids"] == [other["id"]]
    assert do_client.reserved_ips.get(reserved["ip"])["reserved_ip"]["droplet"] is None
    assert gone_urn not in [r["urn"] for r in do_client.projects.list_resources_default()["resources"]]


def test_delete_by_tag(emulator, do_client):
    do_client.droplets.create({"names": ["tmp-1", "tmp-2"], **BASE, "tags": ["scratch"]})
    keeper = _create(do_client, "keeper")
    assert do_client.droplets.destroy_by_tag(tag_name="scratch") is None
    assert [d["id"] for d in do_client.droplets.list()["droplets"]] == [keeper["id"]]
    assert do_client.droplets.destroy_by_tag(tag_name="no-such-tag")["id"] == "not_found"


def test_region_prefix_image_id_and_private_only_networking(emulator, do_client):
    body = {"name": "anywhere", "region": "sfo", "size": "s-1vcpu-1gb", "image": 150000001, "public_networking": False}
    droplet_id = do_client.droplets.create(body)["droplet"]["id"]
    droplet = do_client.droplets.get(droplet_id)["droplet"]
    assert droplet["region"]["slug"] == "sfo2" and droplet["image"]["slug"] == "debian-12-x64"
    anywhere = do_client.droplets.create({"name": "no-region", "size": "s-1vcpu-1gb", "image": "debian-12-x64"})
    assert anywhere["droplet"]["region"]["slug"] == "ams3"
    assert "Region 'sf'" in _refused(lambda: _create(do_client, "bad-prefix", region="sf"))
    assert [n["type"] for n in droplet["networks"]["v4"]] == ["private"] and droplet["networks"]["v6"] == []
    _act(do_client, droplet_id, type="power_off")
    assert "no public networking" in _refused(lambda: _act(do_client, droplet_id, type="enable_ipv6"))


def test_actions_the_spec_cannot_express(tmp_path):
    """Without the contract check: the spec maps `change_backup_policy` but leaves it out of the action
    type enum (a validating emulator refuses it), and refuses tag actions it has no mapping for."""
    config = EmulatorConfig.from_env(port=0, data_dir=tmp_path, validate=False, rate_per_minute=None)
    with Emulator(config) as emulator:
        client = pydo.Client(token=emulator.token, endpoint=emulator.url, connection_verify=str(emulator.ca_bundle))
        droplet = _create(client, "backed", backups=True)
        _act(client, droplet["id"], type="change_backup_policy", backup_policy={"plan": "weekly", "weekday": "FRI"})
        policy = client.droplets.get_backup_policy(droplet["id"])["policy"]["backup_policy"]
        assert (policy["plan"], policy["weekday"], policy["hour"], policy["retention_period_days"]) == (
            "weekly",
            "FRI",
            0,
            28,
        )
        plain = _create(client, "plain")
        message = _refused(lambda: _act(client, plain["id"], type="change_backup_policy", backup_policy={"hour": 4}))
        assert "not enabled" in message
        tagged = client.droplets.create({"names": ["t1", "t2"], **BASE, "tags": ["grp"]})["droplets"]
        message = _refused(lambda: client.droplet_actions.post_by_tag({"type": "reboot"}, tag_name="grp"))
        assert "cannot be run on tagged Droplets" in message
        for droplet in tagged:
            assert [a["type"] for a in client.droplet_actions.list(droplet["id"])["actions"]] == ["create"]


def test_a_create_the_backing_cannot_start_fails_and_leaves_no_droplet(emulator, monkeypatch):
    import pydo

    def refuse(*_args, **_kwargs):
        raise RuntimeError("no network for this VPC range")

    monkeypatch.setattr(emulator.app.backends.compute, "create", refuse)
    client = pydo.Client(
        token=emulator.token, endpoint=emulator.url, connection_verify=str(emulator.ca_bundle), retry_total=0
    )
    with pytest.raises(HttpResponseError) as info:
        client.droplets.create({"name": "web-1", **BASE})
    assert info.value.status_code == 500
    assert client.droplets.list()["droplets"] == []
