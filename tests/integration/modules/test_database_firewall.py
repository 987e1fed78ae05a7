"""seaworthy.digitalocean.database_firewall against the emulator, through real playbooks."""

from __future__ import annotations

import pytest

PG = {"engine": "pg", "version": "17", "region": "nyc3", "size": "db-s-1vcpu-2gb", "num_nodes": 1}
DROPLET = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}
APP = "ff2a6c52-5a44-4b63-b99c-0e98e7a63d61"


def firewall(register="f", **args):
    return {"name": register, "seaworthy.digitalocean.database_firewall": args, "register": register}


def stored(emulator, cluster_id):
    """The rule set as the emulator stores it, order and all."""
    return [(r["type"], r["value"]) for r in emulator.state()["database_clusters"][cluster_id]["rules"]]


@pytest.fixture
def setup(do_client):
    cluster = do_client.databases.create_cluster({"name": "app-db", **PG})["database"]
    web = [do_client.droplets.create({"name": f"web-{n}", **DROPLET})["droplet"] for n in (1, 2)]
    return cluster, web


def test_declared_set_check_reorder_purge_and_absent(emulator, setup, play):
    cluster, (web1, web2) = setup
    args = {
        "cluster": "app-db",
        "droplets": ["web-1", str(web2["id"])],
        "tags": ["app"],
        "ip_addresses": ["203.0.113.7"],
    }
    mark = emulator.mark()
    check = play([firewall(**args)], check=True, diff=True)
    assert check.changed == 1 and emulator.writes(mark) == []
    assert check.result("f")["diff"] == {
        "before": {},
        "after": {
            "droplet": sorted([str(web1["id"]), str(web2["id"])]),
            "ip_addr": ["203.0.113.7"],
            "tag": ["app"],
        },
    }

    created = play([firewall(**args)])
    assert created.rc == 0 and created.changed == 1, created.result("f")
    expected = [("droplet", str(web1["id"])), ("droplet", str(web2["id"])), ("tag", "app"), ("ip_addr", "203.0.113.7")]
    assert stored(emulator, cluster["id"]) == expected
    assert [(w["method"], w["path"]) for w in emulator.writes(mark)] == [
        ("PUT", f"/v2/databases/{cluster['id']}/firewall")
    ]
    assert {(r["type"], r["value"]) for r in created.result("f")["rules"]} == set(expected)

    # The same set in another order, droplets by id and name swapped, the address as a /32: no write.
    mark = emulator.mark()
    reordered = {
        "cluster": cluster["id"],
        "ip_addresses": ["203.0.113.7/32"],
        "tags": ["app"],
        "droplets": [str(web1["id"]), "web-2"],
    }
    again = play([firewall(**reordered)])
    assert again.rc == 0 and again.changed == 0 and emulator.writes(mark) == []

    kept = play([firewall(cluster="app-db", apps=[APP], purge=False)], diff=True)
    assert kept.changed == 1 and kept.result("f")["diff"]["after"]["app"] == [APP]
    assert stored(emulator, cluster["id"]) == [*expected, ("app", APP)]

    purged = play([firewall(cluster="app-db", tags=["app"])], diff=True)
    assert purged.changed == 1 and stored(emulator, cluster["id"]) == [("tag", "app")]
    assert purged.result("f")["diff"]["after"] == {"tag": ["app"]}

    removed = play([firewall(cluster="app-db", tags=["app"], state="absent")])
    assert removed.changed == 1 and stored(emulator, cluster["id"]) == []
    assert play([firewall(cluster="app-db", tags=["app"], state="absent")]).changed == 0

    play([firewall(cluster="app-db", ip_addresses=["10.0.0.0/24", "10.0.1.0/24"])])
    cleared = play([firewall(cluster="app-db", state="absent")])
    assert cleared.changed == 1 and stored(emulator, cluster["id"]) == []
    assert any("admits connections from anywhere" in w for w in cleared.result("f").get("warnings", []))


def test_bad_input_fails_before_any_write(emulator, setup, do_client, play):
    cluster, _ = setup
    do_client.droplets.create({"name": "twin", **DROPLET})
    twins = [do_client.droplets.create({"name": "twin", **DROPLET})["droplet"]["id"]]
    mark = emulator.mark()
    tasks = {
        "v6": firewall(cluster="app-db", ip_addresses=["2001:db8::1"]),
        "ip": firewall(cluster="app-db", ip_addresses=["300.1.1.1"]),
        "app": firewall(cluster="app-db", apps=["not-a-uuid"]),
        "tag": firewall(cluster="app-db", tags=["bad tag"]),
        "droplet": firewall(cluster="app-db", droplets=["ghost"]),
        "twin": firewall(cluster="app-db", droplets=["twin"]),
        "empty": firewall(cluster="app-db"),
        "cluster": firewall(cluster="no-such-db", tags=["app"]),
    }
    result = play([dict(t, name=k, register=k, ignore_errors=True) for k, t in tasks.items()])
    messages = {k: result.result(k)["msg"] for k in tasks}
    assert "'2001:db8::1' is IPv6" in messages["v6"]
    assert "'300.1.1.1' is not an IPv4 address or CIDR block" in messages["ip"]
    assert "apps: 'not-a-uuid' is not a UUID" in messages["app"]
    assert "'bad tag' is not a valid tag name" in messages["tag"]
    assert "no droplet named 'ghost'" in messages["droplet"]
    assert "droplet name 'twin' is ambiguous" in messages["twin"] and str(twins[0]) in messages["twin"]
    assert "no trusted sources declared" in messages["empty"]
    assert "database cluster 'no-such-db' not found" in messages["cluster"]
    assert emulator.writes(mark) == [] and stored(emulator, cluster["id"]) == []
