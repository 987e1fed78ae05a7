"""Block storage end to end through pydo: volumes, attach/detach/resize actions, snapshots, /v2/snapshots."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

BASE = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}


def _refused(call, status: int = 422) -> str:
    with pytest.raises(HttpResponseError) as info:
        call()
    assert info.value.status_code == status
    return info.value.response.json()["message"]


def _volume(do_client, name: str, region: str = "nyc3", size: int = 10, **extra) -> dict:
    return do_client.volumes.create({"name": name, "region": region, "size_gigabytes": size, **extra})["volume"]


def _droplet(do_client, name: str, **extra) -> dict:
    return do_client.droplets.create({"name": name, **BASE, **extra})["droplet"]


def test_volume_lifecycle_with_attach_resize_detach(emulator, do_client):
    volume = _volume(
        do_client,
        "pgdata",
        description="database files",
        filesystem_type="ext4",
        filesystem_label="pgdata",
        tags=["db"],
    )
    assert volume["droplet_ids"] == [] and volume["region"]["slug"] == "nyc3" and volume["size_gigabytes"] == 10
    assert (volume["filesystem_type"], volume["filesystem_label"], volume["tags"]) == ("ext4", "pgdata", ["db"])
    assert "db" in {t["name"] for t in do_client.tags.list()["tags"]}
    droplet = _droplet(do_client, "db-1")

    attach = do_client.volume_actions.post_by_id(volume["id"], {"type": "attach", "droplet_id": droplet["id"]})
    action = attach["action"]
    assert (action["type"], action["status"], action["resource_type"]) == ("attach_volume", "in-progress", "volume")
    assert action["resource_id"] is None and action["region_slug"] == "nyc3"
    assert do_client.volume_actions.get(volume["id"], action["id"])["action"]["status"] == "completed"
    assert do_client.volumes.get(volume["id"])["volume"]["droplet_ids"] == [droplet["id"]]
    assert do_client.droplets.get(droplet["id"])["droplet"]["volume_ids"] == [volume["id"]]

    do_client.volume_actions.post_by_id(volume["id"], {"type": "resize", "size_gigabytes": 50, "region": "nyc3"})
    assert do_client.volumes.get(volume["id"])["volume"]["size_gigabytes"] == 50
    for smaller in (50, 20):
        message = _refused(
            lambda size=smaller: do_client.volume_actions.post_by_id(
                volume["id"], {"type": "resize", "size_gigabytes": size}
            )
        )
        assert "only grow" in message
    assert "cannot be deleted" in _refused(lambda: do_client.volumes.delete(volume["id"]), 409)

    do_client.volume_actions.post_by_id(volume["id"], {"type": "detach", "droplet_id": droplet["id"]})
    assert do_client.volumes.get(volume["id"])["volume"]["droplet_ids"] == []
    assert do_client.droplets.get(droplet["id"])["droplet"]["volume_ids"] == []
    message = _refused(
        lambda: do_client.volume_actions.post_by_id(volume["id"], {"type": "detach", "droplet_id": droplet["id"]})
    )
    assert message == "Attachment not found"

    history = do_client.volume_actions.list(volume["id"], per_page=2)
    assert history["meta"]["total"] == 3 and [a["type"] for a in history["actions"]] == [
        "detach_volume",
        "resize_volume",
    ]
    assert do_client.volumes.delete(volume["id"]) is None
    assert do_client.volumes.get(volume["id"])["id"] == "not_found"
    assert do_client.volume_actions.list(volume["id"])["id"] == "not_found"


def test_list_filters_and_pagination(emulator, do_client):
    for n in range(12):
        _volume(do_client, f"vol-{n:02d}", region="nyc3" if n % 3 else "ams3")
    _volume(do_client, "vol-00", region="fra1")  # the same name in another region is fine
    first = do_client.volumes.list(per_page=5)
    assert first["meta"]["total"] == 13 and len(first["volumes"]) == 5 and "next" in first["links"]["pages"]
    names = [v["name"] for p in (1, 2, 3) for v in do_client.volumes.list(per_page=5, page=p)["volumes"]]
    assert len(names) == 13 and names[:3] == ["vol-00", "vol-01", "vol-02"]
    assert len(do_client.volumes.list(region="ams3")["volumes"]) == 4
    assert {v["region"]["slug"] for v in do_client.volumes.list(name="vol-00")["volumes"]} == {"ams3", "fra1"}
    (one,) = do_client.volumes.list(name="vol-00", region="fra1")["volumes"]
    assert one["region"]["slug"] == "fra1"

    assert do_client.volumes.delete_by_name(name="vol-00", region="fra1") is None
    assert do_client.volumes.list(name="vol-00")["meta"]["total"] == 1
    assert do_client.volumes.delete_by_name(name="vol-00", region="fra1")["id"] == "not_found"


def test_invalid_volumes_and_attachments_are_refused(emulator, do_client):
    _volume(do_client, "taken")
    cases = [
        ({"name": "taken", "region": "nyc3", "size_gigabytes": 5}, 409, "already exists"),
        ({"name": "Bad_Name", "region": "nyc3", "size_gigabytes": 5}, 422, "lowercase"),
        ({"name": "zero", "region": "nyc3", "size_gigabytes": 0}, 422, "between 1 and"),
        ({"name": "fs", "region": "nyc3", "size_gigabytes": 5, "filesystem_type": "zfs"}, 422, "ext4 or xfs"),
        ({"name": "lbl", "region": "nyc3", "size_gigabytes": 5, "filesystem_label": "data"}, 422, "filesystem_type"),
        (
            {
                "name": "xfs",
                "region": "nyc3",
                "size_gigabytes": 5,
                "filesystem_type": "xfs",
                "filesystem_label": "a" * 13,
            },
            422,
            "12 characters",
        ),
    ]
    for body, status, expected in cases:
        assert expected in _refused(lambda body=body: do_client.volumes.create(body), status)
    assert [v["name"] for v in do_client.volumes.list()["volumes"]] == ["taken"]

    droplet = _droplet(do_client, "host")
    far = _volume(do_client, "far", region="sfo3")
    attach_far = {"type": "attach", "droplet_id": droplet["id"]}
    assert "same region" in _refused(lambda: do_client.volume_actions.post_by_id(far["id"], attach_far))
    assert do_client.volume_actions.post_by_id(far["id"], {"type": "attach", "droplet_id": 4242})["id"] == "not_found"

    volumes = [_volume(do_client, f"disk-{n:02d}") for n in range(16)]
    for volume in volumes[:15]:
        do_client.volume_actions.post_by_id(volume["id"], {"type": "attach", "droplet_id": droplet["id"]})
    assert len(do_client.droplets.get(droplet["id"])["droplet"]["volume_ids"]) == 15
    last = {"type": "attach", "droplet_id": droplet["id"]}
    assert "at most 15" in _refused(lambda: do_client.volume_actions.post_by_id(volumes[15]["id"], last))
    other = _droplet(do_client, "other")
    busy = {"type": "attach", "droplet_id": other["id"]}
    assert "another Droplet" in _refused(lambda: do_client.volume_actions.post_by_id(volumes[0]["id"], busy))
    assert "this Droplet" in _refused(lambda: do_client.volume_actions.post_by_id(volumes[0]["id"], last))


def test_actions_by_volume_name(emulator, do_client):
    volume = _volume(do_client, "logs")
    droplet = _droplet(do_client, "app")
    body = {"type": "attach", "volume_name": "logs", "region": "nyc3", "droplet_id": droplet["id"]}
    assert do_client.volume_actions.post(body)["action"]["type"] == "attach_volume"
    assert do_client.volumes.get(volume["id"])["volume"]["droplet_ids"] == [droplet["id"]]
    do_client.volume_actions.post({**body, "type": "detach"})
    assert do_client.volumes.get(volume["id"])["volume"]["droplet_ids"] == []
    assert do_client.volume_actions.post({**body, "volume_name": "nope"})["id"] == "not_found"


def test_errored_volume_action_changes_nothing(emulator, do_client):
    volume = _volume(do_client, "flaky")
    droplet = _droplet(do_client, "host")
    emulator.inject(method="POST", path="/actions$", action_error=True)
    action = do_client.volume_actions.post_by_id(volume["id"], {"type": "attach", "droplet_id": droplet["id"]})
    assert do_client.actions.get(action["action"]["id"])["action"]["status"] == "errored"
    assert do_client.volumes.get(volume["id"])["volume"]["droplet_ids"] == []
    assert do_client.droplets.get(droplet["id"])["droplet"]["volume_ids"] == []


def test_one_volume_action_at_a_time(emulator, do_client, monkeypatch):
    volume = _volume(do_client, "slow")
    droplet = _droplet(do_client, "host")
    do_client.droplets.get(droplet["id"])
    monkeypatch.setattr(emulator.app.config, "delay_action", 5)
    do_client.volume_actions.post_by_id(volume["id"], {"type": "attach", "droplet_id": droplet["id"]})
    message = _refused(
        lambda: do_client.volume_actions.post_by_id(volume["id"], {"type": "resize", "size_gigabytes": 20})
    )
    assert "pending event" in message


def test_volume_snapshots_and_the_snapshots_endpoint(emulator, do_client):
    volume = _volume(do_client, "media", size=20)
    snapshot = do_client.volume_snapshots.create(volume["id"], {"name": "media-1", "tags": ["nightly"]})["snapshot"]
    assert (snapshot["resource_id"], snapshot["resource_type"], snapshot["min_disk_size"]) == (
        volume["id"],
        "volume",
        20,
    )
    assert snapshot["regions"] == ["nyc3"] and snapshot["tags"] == ["nightly"]
    assert [s["id"] for s in do_client.volume_snapshots.list(volume["id"])["snapshots"]] == [snapshot["id"]]
    assert do_client.volume_snapshots.get_by_id(snapshot["id"])["snapshot"]["name"] == "media-1"

    restored = _volume(do_client, "media-copy", size=20, snapshot_id=snapshot["id"])
    assert restored["size_gigabytes"] == 20
    too_small = {"name": "tiny", "region": "nyc3", "size_gigabytes": 10, "snapshot_id": snapshot["id"]}
    assert "at least" in _refused(lambda: do_client.volumes.create(too_small))
    elsewhere = {"name": "far", "region": "ams3", "size_gigabytes": 20, "snapshot_id": snapshot["id"]}
    assert "not available in ams3" in _refused(lambda: do_client.volumes.create(elsewhere))

    droplet = _droplet(do_client, "web")
    do_client.droplet_actions.post(droplet["id"], {"type": "snapshot", "name": "web-1"})
    everything = do_client.snapshots.list()
    assert everything["meta"]["total"] == 2
    (droplet_snapshot,) = do_client.snapshots.list(resource_type="droplet")["snapshots"]
    assert droplet_snapshot["resource_id"] == str(droplet["id"]) and droplet_snapshot["name"] == "web-1"
    assert [s["id"] for s in do_client.snapshots.list(resource_type="volume")["snapshots"]] == [snapshot["id"]]
    assert do_client.snapshots.get(droplet_snapshot["id"])["snapshot"]["resource_type"] == "droplet"
    assert do_client.snapshots.get(snapshot["id"])["snapshot"]["resource_type"] == "volume"
    not_a_snapshot = do_client.snapshots.get(150000001)
    assert not_a_snapshot["id"] == "bad_request" and "not a snapshot" in not_a_snapshot["message"]

    assert do_client.snapshots.delete(droplet_snapshot["id"]) is None
    assert do_client.droplets.get(droplet["id"])["droplet"]["snapshot_ids"] == []
    assert do_client.images.get(int(droplet_snapshot["id"]))["id"] == "not_found"
    assert do_client.snapshots.delete(snapshot["id"]) is None
    assert do_client.snapshots.get(snapshot["id"])["id"] == "not_found"
    assert do_client.volume_snapshots.delete_by_id(snapshot["id"])["id"] == "not_found"
    assert do_client.snapshots.list()["snapshots"] == []
