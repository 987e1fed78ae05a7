"""seaworthy.digitalocean.database_pool against the emulator, through real playbooks."""

from __future__ import annotations

import json

import pytest

PG = {"engine": "pg", "version": "17", "region": "nyc3", "size": "db-s-1vcpu-2gb", "num_nodes": 1}  # 47 connections


def pool(register="p", **args):
    return {"name": register, "seaworthy.digitalocean.database_pool": args, "register": register}


def pools_of(emulator, cluster_id):
    return emulator.state()["database_clusters"][cluster_id]["_pools"]


@pytest.fixture
def cluster(do_client):
    db = do_client.databases.create_cluster({"name": "app-db", **PG})["database"]
    do_client.databases.add_user(db["id"], {"name": "app"})
    do_client.databases.add(db["id"], {"name": "appdb"})
    return db


def test_create_idempotent_update_in_place_and_delete(emulator, cluster, play):
    args = {"cluster": "app-db", "name": "app-pool", "size": 20, "db": "appdb", "user": "app"}
    mark = emulator.mark()
    check = play([pool(**args)], check=True, diff=True)
    assert check.changed == 1 and emulator.writes(mark) == []
    assert check.result("p")["diff"]["after"] == {
        "name": "app-pool",
        "mode": "transaction",
        "size": 20,
        "db": "appdb",
        "user": "app",
    }

    created = play([pool(**args)], diff=True)
    assert created.rc == 0 and created.changed == 1, created.result("p")
    got = created.result("p")["pool"]
    assert (got["mode"], got["size"], got["private_connection"]["port"]) == ("transaction", 20, 25061)
    assert "AVNS_" not in json.dumps(created.result("p")["diff"])
    assert [w["body"] for w in emulator.writes(mark)] == [
        {"name": "app-pool", "mode": "transaction", "size": 20, "db": "appdb", "user": "app"}
    ]

    mark = emulator.mark()
    assert play([pool(**args)]).changed == 0 and emulator.writes(mark) == []
    assert play([pool(cluster=cluster["id"], name="app-pool", size=20)], check=True).changed == 0

    check = play([pool(**{**args, "size": 30, "mode": "session"})], check=True, diff=True)
    diff = check.result("p")["diff"]
    assert check.changed == 1 and (diff["before"]["size"], diff["after"]["size"]) == (20, 30)
    assert emulator.writes(mark) == []

    update = play([pool(cluster="app-db", name="app-pool", size=30, mode="session")])
    assert update.rc == 0 and update.changed == 1, update.result("p")
    writes = emulator.writes(mark)
    assert [(w["method"], w["body"]) for w in writes] == [
        ("PUT", {"mode": "session", "size": 30, "db": "appdb", "user": "app"})
    ], "updated in place, keeping db and user"
    assert pools_of(emulator, cluster["id"]) == [
        {"name": "app-pool", "mode": "session", "size": 30, "db": "appdb", "user": "app"}
    ]

    inbound = play([pool(cluster="app-db", name="app-pool", user="")])
    assert inbound.changed == 1 and "user" not in pools_of(emulator, cluster["id"])[0]
    assert play([pool(cluster="app-db", name="app-pool", user="")]).changed == 0

    gone = play([pool(cluster="app-db", name="app-pool", state="absent")], diff=True)
    assert gone.changed == 1 and gone.result("p")["diff"]["before"]["size"] == 30
    assert play([pool(cluster="app-db", name="app-pool", state="absent")]).changed == 0
    assert pools_of(emulator, cluster["id"]) == []


def test_bad_input_fails_before_any_write(emulator, cluster, do_client, play):
    do_client.databases.add_connection_pool(
        cluster["id"], {"name": "other", "mode": "transaction", "size": 40, "db": "appdb"}
    )
    do_client.databases.create_cluster({"name": "shop-db", **PG, "engine": "mysql", "version": "8"})
    mark = emulator.mark()
    tasks = {
        "too_big": pool(cluster="app-db", name="big", size=10, db="appdb"),
        "name": pool(cluster="app-db", name="p!", size=1, db="appdb"),
        "missing": pool(cluster="app-db", name="half"),
        "no_db": pool(cluster="app-db", name="nodb", size=1, db="nope"),
        "no_user": pool(cluster="app-db", name="nouser", size=1, db="appdb", user="ghost"),
        "mysql": pool(cluster="shop-db", name="pool", size=1, db="defaultdb"),
        "mode": pool(cluster="app-db", name="modes", size=1, db="appdb", mode="fast"),
    }
    result = play([dict(t, name=k, register=k, ignore_errors=True) for k, t in tasks.items()])
    messages = {k: result.result(k)["msg"] for k in tasks}
    assert messages["too_big"] == (
        "pool 'big' of size 10 does not fit in database cluster app-db ("
        + cluster["id"]
        + "): size db-s-1vcpu-2gb allows 47 backend connections across all pools (25 per GiB of RAM, 3 reserved), "
        "other pools use 40, so at most 7 are left"
    )
    assert "pool name 'p!' is invalid" in messages["name"]
    assert "creating pool 'half' needs size, db" in messages["missing"]
    assert "database 'nope' does not exist" in messages["no_db"]
    assert "user 'ghost' does not exist" in messages["no_user"]
    assert "is a mysql cluster, which has no connection pools" in messages["mysql"]
    assert "value of mode must be one of" in messages["mode"]
    assert emulator.writes(mark) == []
    assert [p["name"] for p in pools_of(emulator, cluster["id"])] == ["other"]


def test_create_answered_500_is_not_duplicated(emulator, cluster, play):
    emulator.inject(method="POST", path="/pools$", status=500, after_commit=True)
    result = play([pool(cluster="app-db", name="once", size=5, db="appdb")])
    assert result.rc == 0, result.result("p")
    assert [p["name"] for p in pools_of(emulator, cluster["id"])] == ["once"]
