"""Tags end to end through pydo: records, resource counts, tagging and untagging across families."""

from __future__ import annotations

import pydo
import pytest
from azure.core.exceptions import HttpResponseError

from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator

BASE = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}


def _refused(call, status: int = 422) -> str:
    with pytest.raises(HttpResponseError) as info:
        call()
    assert info.value.status_code == status
    return info.value.response.json()["message"]


def _resources(*pairs) -> dict:
    return {"resources": [{"resource_id": str(i), "resource_type": t} for t, i in pairs]}


def test_tag_records_list_and_delete(emulator, do_client):
    created = do_client.tags.create({"name": "env:prod"})["tag"]
    assert created == {
        "name": "env:prod",
        "resources": {
            "count": 0,
            "droplets": {"count": 0},
            "images": {"count": 0},
            "volumes": {"count": 0},
            "volume_snapshots": {"count": 0},
            "databases": {"count": 0},
        },
    }
    assert do_client.tags.create({"name": "env:prod"})["tag"]["name"] == "env:prod"  # creating again is harmless
    for n in range(24):
        do_client.tags.create({"name": f"team-{n:02d}"})
    first = do_client.tags.list(per_page=10)
    assert first["meta"]["total"] == 25 and len(first["tags"]) == 10
    names = [t["name"] for p in (1, 2, 3) for t in do_client.tags.list(per_page=10, page=p)["tags"]]
    assert names == sorted(names) and len(set(names)) == 25

    assert do_client.tags.delete("team-00") is None
    assert do_client.tags.get("team-00")["id"] == "not_found"
    assert do_client.tags.delete("team-00")["id"] == "not_found"


@pytest.mark.spec_violations_expected
def test_invalid_tag_name_is_refused(emulator, do_client):
    assert "name" in _refused(lambda: do_client.tags.create({"name": "no spaces"}))
    assert do_client.tags.list()["tags"] == []
    assert emulator.state().get("tags", {}) == {}


def test_tagging_counts_and_untagging(emulator, do_client):
    do_client.tags.create({"name": "web"})
    droplet = do_client.droplets.create({"name": "web-1", **BASE})["droplet"]
    volume = do_client.volumes.create({"name": "web-data", "region": "nyc3", "size_gigabytes": 5})["volume"]
    volume_snapshot = do_client.volume_snapshots.create(volume["id"], {"name": "web-data-1"})["snapshot"]
    action = do_client.droplet_actions.post(droplet["id"], {"type": "snapshot", "name": "web-1-image"})["action"]
    do_client.actions.get(action["id"])
    (image,) = do_client.droplets.list_snapshots(droplet["id"])["snapshots"]

    everything = _resources(
        ("droplet", droplet["id"]),
        ("volume", volume["id"]),
        ("volume_snapshot", volume_snapshot["id"]),
        ("image", image["id"]),
    )
    assert do_client.tags.assign_resources("web", everything) is None
    do_client.tags.assign_resources("web", _resources(("droplet", droplet["id"])))  # tagging twice is a no-op
    tag = do_client.tags.get("web")["tag"]
    resources = tag["resources"]
    assert resources["count"] == 4
    assert {k: v["count"] for k, v in resources.items() if isinstance(v, dict)} == {
        "droplets": 1,
        "images": 1,
        "volumes": 1,
        "volume_snapshots": 1,
        "databases": 0,
    }
    assert resources["droplets"]["last_tagged_uri"].endswith(f"/v2/droplets/{droplet['id']}")
    assert resources["volume_snapshots"]["last_tagged_uri"].endswith(f"/v2/snapshots/{volume_snapshot['id']}")
    assert resources["images"]["last_tagged_uri"].endswith(f"/v2/images/{image['id']}")
    assert resources["last_tagged_uri"]
    assert do_client.droplets.get(droplet["id"])["droplet"]["tags"] == ["web"]
    assert do_client.volumes.get(volume["id"])["volume"]["tags"] == ["web"]
    assert do_client.images.get(image["id"])["image"]["tags"] == ["web"]
    assert [d["id"] for d in do_client.droplets.list(tag_name="web")["droplets"]] == [droplet["id"]]

    assert do_client.tags.unassign_resources("web", _resources(("volume", volume["id"]))) is None
    assert do_client.volumes.get(volume["id"])["volume"]["tags"] == []
    assert do_client.tags.get("web")["tag"]["resources"]["count"] == 3

    do_client.tags.delete("web")  # untags everything that carried it
    assert do_client.droplets.get(droplet["id"])["droplet"]["tags"] == []
    assert do_client.volume_snapshots.get_by_id(volume_snapshot["id"])["snapshot"]["tags"] == []
    assert do_client.images.get(image["id"])["image"]["tags"] == []


def test_tagging_errors_change_nothing(emulator, do_client):
    do_client.tags.create({"name": "ops"})
    droplet = do_client.droplets.create({"name": "ops-1", **BASE})["droplet"]
    missing = do_client.tags.assign_resources("ops", _resources(("droplet", droplet["id"]), ("droplet", 999)))
    assert missing["id"] == "not_found" and "999" in missing["message"]
    assert do_client.droplets.get(droplet["id"])["droplet"]["tags"] == [], "nothing tagged when one is missing"
    assert do_client.tags.assign_resources("nope", _resources(("droplet", droplet["id"])))["id"] == "not_found"
    public = _resources(("image", 150000001))
    assert "public image" in _refused(lambda: do_client.tags.assign_resources("ops", public))
    message = _refused(lambda: do_client.droplets.create({"name": "x", **BASE, "tags": ["ok", "not ok"]}))
    assert "not ok" in message and "ok" not in emulator.state()["tags"]


def test_database_clusters_can_be_tagged_beyond_the_spec(tmp_path):
    """The spec documents `database` tagging but leaves it out of the resource_type enum."""
    config = EmulatorConfig.from_env(port=0, data_dir=tmp_path, validate=False, rate_per_minute=None)
    with Emulator(config) as emulator:
        cluster_id = "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30"
        with emulator.app.store.lock:
            emulator.app.store.put(
                "database_clusters", cluster_id, {"id": cluster_id, "created_at": "2025-01-01T00:00:00Z", "tags": None}
            )
        client = pydo.Client(token=emulator.token, endpoint=emulator.url, connection_verify=str(emulator.ca_bundle))
        client.tags.create({"name": "data"})
        client.tags.assign_resources("data", _resources(("database", cluster_id)))
        assert emulator.state()["database_clusters"][cluster_id]["tags"] == ["data"]
        databases = client.tags.get("data")["tag"]["resources"]["databases"]
        assert databases["count"] == 1 and databases["last_tagged_uri"].endswith(f"/v2/databases/{cluster_id}")
