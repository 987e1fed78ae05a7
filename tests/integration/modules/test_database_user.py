"""seaworthy.digitalocean.database_user against the emulator, through real playbooks."""

from __future__ import annotations

import json

import pytest

PG = {"engine": "pg", "version": "17", "region": "nyc3", "size": "db-s-1vcpu-2gb", "num_nodes": 1}
MYSQL = {"engine": "mysql", "version": "8", "region": "nyc3", "size": "db-s-1vcpu-2gb", "num_nodes": 1}


def user(register="u", **args):
    return {"name": register, "seaworthy.digitalocean.database_user": args, "register": register}


def users_of(emulator, cluster_id):
    return {u["name"]: u for u in emulator.state()["database_clusters"][cluster_id]["users"]}


@pytest.fixture
def pg(do_client):
    return do_client.databases.create_cluster({"name": "app-db", **PG})["database"]


def test_create_idempotent_update_and_delete(emulator, pg, play):
    mark = emulator.mark()
    check = play([user(cluster="app-db", name="app")], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1 and check.result("u")["diff"]["after"]["name"] == "app"
    assert emulator.writes(mark) == [] and "app" not in users_of(emulator, pg["id"])

    created = play([user(cluster="app-db", name="app")], diff=True)
    assert created.rc == 0 and created.changed == 1, created.result("u")
    result = created.result("u")
    assert result["user"]["name"] == "app" and result["user"]["password"].startswith("AVNS_")
    assert "AVNS_" not in json.dumps(result["diff"]), "the password never shows in --diff"
    assert [(w["method"], w["path"], w["body"]) for w in emulator.writes(mark)] == [
        ("POST", f"/v2/databases/{pg['id']}/users", {"name": "app"})
    ]

    mark = emulator.mark()
    again = play([user(cluster=pg["id"], name="app")], check=True)
    assert again.changed == 0
    again = play([user(cluster=pg["id"], name="app")])
    assert again.changed == 0 and emulator.writes(mark) == []

    update = play([user(cluster="app-db", name="app", pg_allow_replication=True)], diff=True)
    assert update.rc == 0 and update.changed == 1, update.result("u")
    assert update.result("u")["diff"]["after"]["pg_allow_replication"] is True
    assert update.result("u")["user"]["password"] == result["user"]["password"], "updated in place"
    assert users_of(emulator, pg["id"])["app"]["settings"] == {"pg_allow_replication": True}
    assert play([user(cluster="app-db", name="app", pg_allow_replication=True)]).changed == 0

    reset = play([user(cluster="app-db", name="app", reset_password=True)])
    assert reset.changed == 1 and reset.result("u")["user"]["password"] != result["user"]["password"]

    mark = emulator.mark()
    gone = play([user(cluster="app-db", name="app", state="absent")], diff=True)
    assert gone.changed == 1 and gone.result("u")["diff"]["before"]["name"] == "app"
    assert [w["method"] for w in emulator.writes(mark)] == ["DELETE"]
    assert play([user(cluster="app-db", name="app", state="absent")]).changed == 0


def test_mysql_auth_plugin(emulator, do_client, play):
    db = do_client.databases.create_cluster({"name": "legacy-db", **MYSQL})["database"]
    created = play([user(cluster="legacy-db", name="reports", mysql_auth_plugin="mysql_native_password")])
    assert created.rc == 0, created.result("u")
    assert users_of(emulator, db["id"])["reports"]["mysql_settings"] == {"auth_plugin": "mysql_native_password"}
    changed = play([user(cluster="legacy-db", name="reports", mysql_auth_plugin="caching_sha2_password")])
    assert changed.changed == 1
    assert users_of(emulator, db["id"])["reports"]["mysql_settings"] == {"auth_plugin": "caching_sha2_password"}
    assert play([user(cluster="legacy-db", name="reports", mysql_auth_plugin="caching_sha2_password")]).changed == 0


def test_bad_input_fails_clearly_and_changes_nothing(emulator, pg, do_client, play):
    do_client.databases.create_cluster({"name": "cache", **PG, "engine": "valkey", "version": "8"})
    mark = emulator.mark()
    tasks = [
        user(register="a", cluster="app-db", name="9lives"),
        user(register="b", cluster="no-such-db", name="app"),
        user(register="c", cluster="cache", name="app"),
        user(register="d", cluster="app-db", name="app", mysql_auth_plugin="mysql_native_password"),
        user(register="e", cluster="app-db", name="doadmin", state="absent"),
    ]
    result = play([dict(t, ignore_errors=True) for t in tasks])
    messages = {r: result.result(r)["msg"] for r in "abcde"}
    assert "database user name '9lives' is invalid" in messages["a"]
    assert "database cluster 'no-such-db' not found" in messages["b"]
    assert "is a valkey cluster, which has no user management" in messages["c"]
    assert "mysql_auth_plugin applies to MySQL" in messages["d"]
    assert "'doadmin' is the primary user" in messages["e"]
    assert emulator.writes(mark) == []


def test_check_mode_before_the_cluster_exists(emulator, play):
    result = play([user(cluster="future-db", name="app")], check=True)
    assert result.rc == 0 and result.changed == 1


def test_create_answered_500_is_not_duplicated(emulator, pg, play):
    emulator.inject(method="POST", path="/users$", status=500, after_commit=True)
    result = play([user(cluster="app-db", name="once")])
    assert result.rc == 0, result.result("u")
    assert "once" in users_of(emulator, pg["id"])
    assert len([r for r in emulator.requests() if r["method"] == "POST" and r["path"].endswith("/users")]) == 1
