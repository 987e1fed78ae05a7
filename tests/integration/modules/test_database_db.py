"""seaworthy.digitalocean.database_db against the emulator, through real playbooks."""

from __future__ import annotations

PG = {"engine": "pg", "version": "17", "region": "nyc3", "size": "db-s-1vcpu-2gb", "num_nodes": 1}


def db(register="d", **args):
    return {"name": register, "seaworthy.digitalocean.database_db": args, "register": register}


def dbs_of(emulator, cluster_id):
    return emulator.state()["database_clusters"][cluster_id]["db_names"]


def test_create_idempotent_delete_and_bad_input(emulator, do_client, play):
    cluster = do_client.databases.create_cluster({"name": "app-db", **PG})["database"]
    mark = emulator.mark()
    check = play([db(cluster="app-db", name="app")], check=True, diff=True)
    assert check.changed == 1 and check.result("d")["diff"] == {"before": {}, "after": {"name": "app"}}
    assert emulator.writes(mark) == []

    created = play([db(cluster="app-db", name="app")])
    assert created.rc == 0 and created.changed == 1 and created.result("d")["db"] == {"name": "app"}
    assert dbs_of(emulator, cluster["id"]) == ["defaultdb", "app"]

    mark = emulator.mark()
    again = play([db(cluster=cluster["id"], name="app")])
    assert again.changed == 0 and emulator.writes(mark) == []
    assert play([db(cluster="app-db", name="app")], check=True).changed == 0

    gone = play([db(cluster="app-db", name="app", state="absent")], diff=True)
    assert gone.changed == 1 and gone.result("d")["diff"]["before"] == {"name": "app"}
    assert play([db(cluster="app-db", name="app", state="absent")]).changed == 0
    assert dbs_of(emulator, cluster["id"]) == ["defaultdb"]

    mark = emulator.mark()
    bad = play(
        [
            dict(db(register="a", cluster="app-db", name="no spaces"), ignore_errors=True),
            dict(db(register="b", cluster="app-db", name="template0"), ignore_errors=True),
            dict(db(register="c", cluster="gone-db", name="app"), ignore_errors=True),
        ]
    )
    assert "database name 'no spaces' is invalid" in bad.result("a")["msg"]
    assert "database name 'template0' is reserved" in bad.result("b")["msg"]
    assert "database cluster 'gone-db' not found" in bad.result("c")["msg"]
    assert emulator.writes(mark) == []


def test_create_answered_500_is_not_duplicated(emulator, do_client, play):
    cluster = do_client.databases.create_cluster({"name": "app-db", **PG})["database"]
    emulator.inject(method="POST", path="/dbs$", status=500, after_commit=True)
    result = play([db(cluster="app-db", name="once")])
    assert result.rc == 0, result.result("d")
    assert dbs_of(emulator, cluster["id"]) == ["defaultdb", "once"]
