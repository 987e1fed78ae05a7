"""seaworthy.digitalocean.database_cluster / database_cluster_info against the emulator, through real playbooks."""

from __future__ import annotations

import json

import pytest
from cryptography import x509

BASE = {"engine": "pg", "version": "17", "region": "nyc3", "size": "db-s-1vcpu-2gb", "num_nodes": 1}


def cluster(register="c", **args):
    return {"name": register, "seaworthy.digitalocean.database_cluster": args, "register": register}


def info(register="i", **args):
    return {"name": register, "seaworthy.digitalocean.database_cluster_info": args, "register": register}


def clusters_in(emulator):
    return list(emulator.state().get("database_clusters", {}).values())


def write_paths(emulator, mark):
    return [(w["method"], w["path"]) for w in emulator.writes(mark)]


def test_create_check_idempotent_resize_tags_and_delete(emulator, do_client, play):
    vpc = do_client.vpcs.create({"name": "app-vpc", "region": "nyc3", "ip_range": "10.20.0.0/20"})["vpc"]
    project = do_client.projects.create(
        {"name": "FreshTrack", "purpose": "Web Application", "environment": "Production"}
    )
    args = {"name": "app-db", "private_network": "app-vpc", "tags": ["app", "db"], "project": "FreshTrack", **BASE}

    mark = emulator.mark()
    check = play([cluster(**args)], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1, check.result("c")
    assert check.result("c")["diff"]["after"]["size"] == "db-s-1vcpu-2gb"
    assert emulator.writes(mark) == [] and clusters_in(emulator) == []

    created = play([cluster(**args)], diff=True)
    assert created.rc == 0 and created.changed == 1, created.result("c")
    db = created.result("c")["database"]
    assert db["status"] == "online" and db["private_network_uuid"] == vpc["id"]
    assert sorted(db["tags"]) == ["app", "db"] and db["project_id"] == project["project"]["id"]
    assert write_paths(emulator, mark) == [("POST", "/v2/databases")], "tags and project given at creation"
    post = emulator.writes(mark)[0]["body"]
    assert post["private_network_uuid"] == vpc["id"] and post["project_id"] == project["project"]["id"]
    assert "AVNS_" not in json.dumps(created.result("c")["diff"]), "no password in the diff"

    mark = emulator.mark()
    again = play([cluster(**args)])
    assert again.rc == 0 and again.changed == 0, again.result("c")
    assert emulator.writes(mark) == []
    assert play([cluster(**args)], check=True).changed == 0
    by_id = play([cluster(id=db["id"], size="db-s-1vcpu-2gb", tags=["db", "app"])], check=True)
    assert by_id.rc == 0 and by_id.changed == 0, by_id.result("c")

    bigger = {**args, "size": "db-s-2vcpu-4gb", "num_nodes": 2, "tags": ["app", "primary"]}
    mark = emulator.mark()
    check = play([cluster(**bigger)], check=True, diff=True)
    diff = check.result("c")["diff"]
    assert check.changed == 1 and emulator.writes(mark) == []
    assert (diff["before"]["size"], diff["after"]["size"]) == ("db-s-1vcpu-2gb", "db-s-2vcpu-4gb")
    assert (diff["before"]["tags"], diff["after"]["tags"]) == (["app", "db"], ["app", "primary"])

    resized = play([cluster(**bigger)], diff=True)
    assert resized.rc == 0 and resized.changed == 1, resized.result("c")
    db = resized.result("c")["database"]
    assert (db["size"], db["num_nodes"], db["status"]) == ("db-s-2vcpu-4gb", 2, "online")
    assert sorted(db["tags"]) == ["app", "primary"]
    writes = write_paths(emulator, mark)
    assert ("PUT", f"/v2/databases/{db['id']}/resize") in writes
    assert ("POST", "/v2/tags/primary/resources") in writes and ("DELETE", "/v2/tags/db/resources") in writes
    assert emulator.writes(mark)[-1]["body"] == {"size": "db-s-2vcpu-4gb", "num_nodes": 2}
    assert "AVNS_" not in json.dumps(resized.result("c")["diff"])
    assert play([cluster(**bigger)]).changed == 0

    mark = emulator.mark()
    gone = play([cluster(name="app-db", state="absent")], diff=True)
    assert gone.changed == 1 and gone.result("c")["diff"]["before"]["name"] == "app-db"
    assert write_paths(emulator, mark) == [("DELETE", f"/v2/databases/{db['id']}")]
    assert play([cluster(name="app-db", state="absent")]).changed == 0 and clusters_in(emulator) == []


def test_info_returns_connections_pools_and_the_ca(emulator, do_client, play):
    db = do_client.databases.create_cluster({"name": "info-db", **BASE})["database"]
    do_client.databases.add_user(db["id"], {"name": "app"})
    do_client.databases.add(db["id"], {"name": "appdb"})
    do_client.databases.add_connection_pool(
        db["id"], {"name": "app-pool", "mode": "transaction", "size": 10, "db": "appdb", "user": "app"}
    )
    do_client.databases.update_firewall_rules(db["id"], {"rules": [{"type": "ip_addr", "value": "10.0.0.5"}]})

    result = play([info(name="info-db", ca_path="/etc/ssl/db-ca.pem")], check=True)
    assert result.rc == 0 and result.changed == 0, result.result("i")
    got = result.result("i")
    assert got["database"]["id"] == db["id"]
    assert set(got["private_connection"]) >= {"uri", "host", "port", "user", "password", "database", "ssl"}
    assert got["private_connection"]["host"].startswith("private-")
    ca = x509.load_pem_x509_certificate(got["ca_certificate"].encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    [pool] = got["pools"]
    assert (pool["name"], pool["user"], pool["private_connection"]["port"]) == ("app-pool", "app", 25061)
    uri = got["pool_uris"]["app-pool"]["private"]
    assert uri.startswith("postgresql://app:AVNS_") and f"@{pool['private_connection']['host']}:25061/app-pool?" in uri
    assert uri.endswith("sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem") and "sslmode=require" not in uri
    assert got["uris"]["public"].endswith("/defaultdb?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem")
    assert [(r["type"], r["value"]) for r in got["trusted_sources"]] == [("ip_addr", "10.0.0.5")]
    assert emulator.writes(emulator.mark()) == []

    missing = play([info(name="no-such-db")])
    assert missing.failed and "database cluster 'no-such-db' not found" in missing.result("i")["msg"]


def test_existing_cluster_of_another_engine_or_version_fails(emulator, do_client, play):
    do_client.databases.create_cluster({"name": "shop-db", **BASE})
    mark = emulator.mark()
    result = play(
        [
            {**cluster(**{**BASE, "name": "shop-db", "engine": "mysql", "version": "8"}), "ignore_errors": True},
            cluster(register="v", **{**BASE, "name": "shop-db", "version": "16"}),
        ]
    )
    assert "is a pg cluster in nyc3, not mysql in nyc3" in result.result("c")["msg"]
    assert "cannot change in place: version 17 -> 16" in result.result("v")["msg"]
    assert emulator.writes(mark) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"engine": "oracle"}, "value of engine must be one of: pg, mysql, valkey"),
        (
            {"size": "db-s-64vcpu-1tb"},
            "size 'db-s-64vcpu-1tb' is not offered for pg clusters of 1 node(s); sizes offered: db-s-1vcpu-1gb",
        ),
        ({"num_nodes": 2, "size": "db-s-1vcpu-1gb"}, "is not offered for pg clusters of 2 node(s)"),
        ({"num_nodes": 5}, "pg clusters cannot have 5 node(s); node counts offered: 1, 2, 3"),
        ({"version": "9"}, "pg version '9' is not offered; available versions: 13, 14, 15, 16, 17"),
        ({"region": "mars1"}, "pg clusters are not offered in region 'mars1'"),
        ({"name": "Bad_Name"}, "database cluster name 'Bad_Name' is invalid"),
        ({"size": None}, "creating database cluster 'bad-db' needs size"),
        ({"private_network": "nowhere"}, "VPC 'nowhere' not found in region nyc3"),
    ],
)
def test_bad_input_is_clear_and_creates_nothing(emulator, play, overrides, expected):
    args = {k: v for k, v in {"name": "bad-db", **BASE, **overrides}.items() if v is not None}
    mark = emulator.mark()
    result = play([cluster(**args)])
    assert result.failed
    message = result.result("c")["msg"]
    assert expected in message and "Traceback" not in message
    assert emulator.writes(mark) == [] and clusters_in(emulator) == []


def test_create_answered_500_is_not_duplicated(emulator, play):
    emulator.inject(method="POST", path="^/v2/databases$", status=500, after_commit=True)
    result = play([cluster(name="once-db", **BASE)])
    assert result.rc == 0, result.result("c")
    assert result.result("c")["database"]["status"] == "online"
    assert [c["name"] for c in clusters_in(emulator)] == ["once-db"]
    assert len([r for r in emulator.requests() if r["method"] == "POST"]) == 1
