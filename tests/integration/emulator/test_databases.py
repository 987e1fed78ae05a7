"""Managed databases on the emulator, through pydo: clusters, users, databases, pools, trusted sources."""

from __future__ import annotations

import base64
import time
import uuid

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from cryptography import x509

PG = {"name": "backend", "engine": "pg", "region": "nyc3", "size": "db-s-1vcpu-1gb", "num_nodes": 1}


def api(emulator, method, path, **kwargs):
    headers = {"Authorization": f"Bearer {emulator.token}"}
    return requests.request(
        method, emulator.url + path, headers=headers, verify=str(emulator.ca_bundle), timeout=10, **kwargs
    )


def wait_online(client, cluster_id, timeout=10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        cluster = client.databases.get_cluster(cluster_id)["database"]
        if cluster["status"] == "online":
            return cluster
        assert time.monotonic() < deadline, f"cluster still {cluster['status']}"
        time.sleep(0.05)


def refused(call, *args) -> str:
    """The message of a 422 DigitalOcean answers (pydo raises: 422 is not in these operations' spec)."""
    with pytest.raises(HttpResponseError) as info:
        call(*args)
    assert info.value.status_code == 422, info.value
    body = info.value.response.json()
    assert body["id"] == "unprocessable_entity"
    return body["message"]


@pytest.fixture
def server(emulator):
    """What the memory backend holds per cluster (the mirror every API change must reach)."""
    return emulator.app.backends.databases.servers


@pytest.fixture
def slow(emulator):
    """Clusters take 1.5 s to come online or finish a resize (zero elsewhere): long enough, even
    on a loaded machine, for the test to see the in-between state and be refused during it."""
    config = emulator.app.config
    saved = config.delay_database
    config.delay_database = 1.5
    yield
    config.delay_database = saved


@pytest.fixture
def pg(do_client):
    return wait_online(do_client, do_client.databases.create_cluster(dict(PG))["database"]["id"])


def test_options_offer_engines_versions_and_layouts(do_client):
    body = do_client.databases.list_options()
    options = body["options"]
    assert {"pg", "mysql", "valkey", "mongodb", "kafka", "opensearch"} <= set(options)
    pg = options["pg"]
    assert pg["default_version"] == "17" and "16" in pg["versions"]
    assert "nyc3" in pg["regions"] and "ams3" in pg["regions"]
    layouts = {layout["num_nodes"]: layout["sizes"] for layout in pg["layouts"]}
    assert set(layouts) == {1, 2, 3}
    assert {"db-s-1vcpu-1gb", "db-s-1vcpu-2gb", "db-s-2vcpu-4gb", "db-s-4vcpu-8gb"} <= set(layouts[1])
    assert "db-s-1vcpu-1gb" not in layouts[2], "standby nodes need 2 GiB or more"
    assert options["valkey"]["default_version"] == "8"
    defaults = [v["version"] for v in body["version_availability"]["pg"] if v["default"]]
    assert defaults == ["17"]


def test_pg_cluster_lifecycle(emulator, do_client, server, slow):
    created = do_client.databases.create_cluster({**PG, "tags": ["production"]})["database"]
    assert created["status"] == "creating"
    assert created["version"] == "17", "the engine's latest version by default"
    assert created["users"] == [{"name": "doadmin", "role": "primary", "password": created["connection"]["password"]}]
    assert created["db_names"] == ["defaultdb"]
    cluster = wait_online(do_client, created["id"])

    conn = cluster["connection"]
    assert conn["user"] == "doadmin" and conn["database"] == "defaultdb" and conn["port"] == 25060 and conn["ssl"]
    assert conn["host"].endswith(".db.ondigitalocean.com")
    assert conn["uri"] == f"postgresql://doadmin:{conn['password']}@{conn['host']}:25060/defaultdb?sslmode=require"
    assert cluster["private_connection"]["host"] == "private-" + conn["host"]
    assert "standby_connection" not in cluster, "a single node has no standby"
    assert cluster["maintenance_window"]["day"] and cluster["storage_size_mib"] == 10240
    vpc = emulator.state()["vpcs"][cluster["private_network_uuid"]]
    assert vpc["region"] == "nyc3" and vpc["default"]
    assert server[cluster["id"]]["users"] == {"doadmin": conn["password"]}
    assert server[cluster["id"]]["dbs"] == {"defaultdb"}

    assert cluster["project_id"] == do_client.projects.get_default()["project"]["id"]

    project = do_client.projects.create({"name": "data", "purpose": "Service or API"})["project"]
    other = do_client.databases.create_cluster({**PG, "name": "other", "project_id": project["id"]})["database"]
    other = wait_online(do_client, other["id"])
    assert other["project_id"] == project["id"]
    assert [r["urn"] for r in do_client.projects.list_resources(project["id"])["resources"]] == [
        f"do:dbaas:{other['id']}"
    ]
    assert other["private_network_uuid"] == cluster["private_network_uuid"], "one default VPC per region"
    assert [c["name"] for c in do_client.databases.list_clusters()["databases"]] == ["backend", "other"]
    assert [c["name"] for c in do_client.databases.list_clusters(tag_name="production")["databases"]] == ["backend"]
    assert emulator.state()["tags"]["production"]

    assert do_client.databases.destroy_cluster(cluster["id"]) is None
    assert do_client.databases.get_cluster(cluster["id"])["id"] == "not_found"
    assert cluster["id"] not in server
    assert [c["name"] for c in do_client.databases.list_clusters()["databases"]] == ["other"]


def test_users_lifecycle(do_client, pg, server):
    cid = pg["id"]
    user = do_client.databases.add_user(cid, {"name": "app-01"})["user"]
    assert user["role"] == "normal" and user["password"].startswith("AVNS_")
    assert do_client.databases.get_user(cid, "app-01")["user"] == user
    assert [u["name"] for u in do_client.databases.list_users(cid)["users"]] == ["doadmin", "app-01"]
    assert [u["name"] for u in do_client.databases.get_cluster(cid)["database"]["users"]] == ["doadmin", "app-01"]
    assert server[cid]["users"]["app-01"] == user["password"]

    reset = do_client.databases.reset_auth(cid, "app-01", {})["user"]
    assert reset["password"] != user["password"] and server[cid]["users"]["app-01"] == reset["password"]

    updated = do_client.databases.update_user(cid, "app-01", {"settings": {"pg_allow_replication": True}})["user"]
    assert updated["settings"] == {"pg_allow_replication": True}
    assert server[cid]["user_options"]["app-01"]["replication"] is True

    admin = do_client.databases.reset_auth(cid, "doadmin", {})["user"]
    connection = do_client.databases.get_cluster(cid)["database"]["connection"]
    assert connection["password"] == admin["password"] != pg["connection"]["password"]

    assert "already exists" in refused(do_client.databases.add_user, cid, {"name": "app-01"})
    assert "reserved" in refused(do_client.databases.add_user, cid, {"name": "pg_monitor"})
    assert "invalid" in refused(do_client.databases.add_user, cid, {"name": "bad name"})
    assert "MySQL" in refused(
        do_client.databases.reset_auth, cid, "app-01", {"mysql_settings": {"auth_plugin": "mysql_native_password"}}
    )
    assert "primary user" in refused(do_client.databases.delete_user, cid, "doadmin")

    assert do_client.databases.delete_user(cid, "app-01") is None
    assert do_client.databases.get_user(cid, "app-01")["id"] == "not_found"
    assert "app-01" not in server[cid]["users"]


def test_databases_lifecycle(do_client, pg, server):
    cid = pg["id"]
    assert do_client.databases.add(cid, {"name": "alpha"}) == {"db": {"name": "alpha"}}
    assert do_client.databases.list(cid)["dbs"] == [{"name": "defaultdb"}, {"name": "alpha"}]
    assert do_client.databases.get(cid, "alpha") == {"db": {"name": "alpha"}}
    assert do_client.databases.get_cluster(cid)["database"]["db_names"] == ["defaultdb", "alpha"]
    assert server[cid]["dbs"] == {"defaultdb", "alpha"}
    assert "already exists" in refused(do_client.databases.add, cid, {"name": "alpha"})
    assert "reserved" in refused(do_client.databases.add, cid, {"name": "template1"})
    assert do_client.databases.delete(cid, "alpha") is None
    assert do_client.databases.get(cid, "alpha")["id"] == "not_found"
    assert server[cid]["dbs"] == {"defaultdb"}


def test_connection_pools_lifecycle_and_limits(do_client, pg, server):
    cid = pg["id"]
    do_client.databases.add_user(cid, {"name": "app"})
    do_client.databases.add(cid, {"name": "appdb"})
    pool = do_client.databases.add_connection_pool(
        cid, {"name": "backend-pool", "mode": "transaction", "size": 10, "db": "appdb", "user": "app"}
    )["pool"]
    password = do_client.databases.get_user(cid, "app")["user"]["password"]
    conn = pool["connection"]
    assert (conn["port"], conn["database"], conn["user"], conn["password"]) == (25061, "backend-pool", "app", password)
    assert conn["host"] == pg["connection"]["host"]
    assert conn["uri"] == f"postgresql://app:{password}@{conn['host']}:25061/backend-pool?sslmode=require"
    assert pool["private_connection"]["host"] == pg["private_connection"]["host"]

    inbound = do_client.databases.add_connection_pool(
        cid, {"name": "inbound", "mode": "session", "size": 12, "db": "defaultdb"}
    )["pool"]
    assert "user" not in inbound and inbound["connection"]["user"] == "doadmin"
    # db-s-1vcpu-1gb: 25 connections per GiB minus 3 reserved = 22, all used now.
    message = refused(
        do_client.databases.add_connection_pool, cid, {"name": "more", "mode": "session", "size": 1, "db": "appdb"}
    )
    assert "exceeds" in message and "22" in message
    assert "does not exist" in refused(
        do_client.databases.add_connection_pool, cid, {"name": "pool3", "mode": "session", "size": 1, "db": "nope"}
    )
    assert "Pool user 'ghost'" in refused(
        do_client.databases.add_connection_pool,
        cid,
        {"name": "pool3", "mode": "session", "size": 1, "db": "appdb", "user": "ghost"},
    )
    assert "Pool name 'p3'" in refused(
        do_client.databases.add_connection_pool, cid, {"name": "p3", "mode": "session", "size": 1, "db": "appdb"}
    )
    assert [p["name"] for p in do_client.databases.list_connection_pools(cid)["pools"]] == ["backend-pool", "inbound"]

    assert (
        do_client.databases.update_connection_pool(cid, "inbound", {"mode": "statement", "size": 5, "db": "appdb"})
        is None
    )
    assert do_client.databases.get_connection_pool(cid, "inbound")["pool"]["mode"] == "statement"
    assert [(p["name"], p["size"]) for p in server[cid]["pools"]] == [("backend-pool", 10), ("inbound", 5)]

    assert "connection pool" in refused(do_client.databases.delete_user, cid, "app")
    assert "connection pool" in refused(do_client.databases.delete, cid, "appdb")
    assert do_client.databases.delete_connection_pool(cid, "backend-pool") is None
    assert do_client.databases.get_connection_pool(cid, "backend-pool")["id"] == "not_found"
    assert [p["name"] for p in server[cid]["pools"]] == ["inbound"]


def test_trusted_sources_set_replace_clear(do_client, pg, server):
    cid = pg["id"]
    k8s = str(uuid.uuid4())
    droplet = do_client.droplets.create(
        {"name": "web", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}
    )
    droplet_id = str(droplet["droplet"]["id"])
    rules = [
        {"type": "ip_addr", "value": "192.168.1.1", "description": "office"},
        {"type": "k8s", "value": k8s},
        {"type": "tag", "value": "backend"},
        {"type": "droplet", "value": droplet_id},
    ]
    assert do_client.databases.update_firewall_rules(cid, {"rules": rules}) is None
    first = do_client.databases.list_firewall_rules(cid)["rules"]
    assert [(r["type"], r["value"]) for r in first] == [(r["type"], r["value"]) for r in rules]
    assert all(r["cluster_uuid"] == cid and r["uuid"] and r["created_at"] for r in first)
    assert first[0]["description"] == "office"
    assert server[cid]["trusted_sources"] == [
        ("ip_addr", "192.168.1.1"),
        ("k8s", k8s),
        ("tag", "backend"),
        ("droplet", droplet_id),
    ]

    do_client.databases.update_firewall_rules(cid, {"rules": [rules[1], {"type": "ip_addr", "value": "10.0.0.0/8"}]})
    second = do_client.databases.list_firewall_rules(cid)["rules"]
    assert [r["value"] for r in second] == [k8s, "10.0.0.0/8"]
    assert second[0]["uuid"] == first[1]["uuid"], "a rule kept across a replace keeps its identity"

    assert "droplet 999" in refused(
        do_client.databases.update_firewall_rules, cid, {"rules": [{"type": "droplet", "value": "999"}]}
    )
    assert "IPv6" in refused(
        do_client.databases.update_firewall_rules, cid, {"rules": [{"type": "ip_addr", "value": "2001:db8::1"}]}
    )
    assert "UUID" in refused(do_client.databases.update_firewall_rules, cid, {"rules": [{"type": "app", "value": "x"}]})
    assert [r["value"] for r in do_client.databases.list_firewall_rules(cid)["rules"]] == [k8s, "10.0.0.0/8"]

    do_client.databases.update_firewall_rules(cid, {"rules": []})
    assert do_client.databases.list_firewall_rules(cid)["rules"] == []
    assert server[cid]["trusted_sources"] == []


def test_ca_is_a_pem_ca_certificate(do_client, pg):
    encoded = do_client.databases.get_ca(pg["id"])["ca"]["certificate"]
    pem = base64.b64decode(encoded)
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----")
    cert = x509.load_pem_x509_certificate(pem)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert do_client.databases.get_ca(pg["id"])["ca"]["certificate"] == encoded, "one CA per cluster"


def test_resize_lifecycle(do_client, pg, server, slow):
    cid = pg["id"]
    assert do_client.databases.update_cluster_size(cid, {"size": "db-s-2vcpu-4gb", "num_nodes": 2}) is None
    resizing = do_client.databases.get_cluster(cid)["database"]
    assert resizing["status"] == "resizing"
    assert "online" in refused(do_client.databases.update_cluster_size, cid, {"size": "db-s-4vcpu-8gb", "num_nodes": 2})
    cluster = wait_online(do_client, cid)
    assert (cluster["size"], cluster["num_nodes"], cluster["storage_size_mib"]) == ("db-s-2vcpu-4gb", 2, 61440)
    assert cluster["standby_connection"]["host"].startswith("replica-")
    assert server[cid]["layout"] == ("db-s-2vcpu-4gb", 2, 61440)

    assert "not available" in refused(
        do_client.databases.update_cluster_size, cid, {"size": "m-2vcpu-16gb", "num_nodes": 2}
    )
    assert "node" in refused(do_client.databases.update_cluster_size, cid, {"size": "db-s-2vcpu-4gb", "num_nodes": 5})
    do_client.databases.update_cluster_size(cid, {"size": "db-s-2vcpu-4gb", "num_nodes": 2, "storage_size_mib": 81920})
    assert wait_online(do_client, cid)["storage_size_mib"] == 81920
    assert "reduced" in refused(
        do_client.databases.update_cluster_size,
        cid,
        {"size": "db-s-2vcpu-4gb", "num_nodes": 2, "storage_size_mib": 71680},
    )


def test_mysql_cluster_users_and_no_pools(do_client, server):
    created = do_client.databases.create_cluster({**PG, "name": "shop", "engine": "mysql", "size": "db-s-1vcpu-2gb"})
    cluster = wait_online(do_client, created["database"]["id"])
    cid = cluster["id"]
    assert cluster["version"] == "8"
    assert (
        cluster["connection"]["uri"].startswith("mysql://doadmin:")
        and "ssl-mode=REQUIRED" in cluster["connection"]["uri"]
    )
    assert cluster["users"][0]["mysql_settings"] == {"auth_plugin": "caching_sha2_password"}

    legacy = do_client.databases.add_user(
        cid, {"name": "legacy", "mysql_settings": {"auth_plugin": "mysql_native_password"}}
    )
    assert legacy["user"]["mysql_settings"] == {"auth_plugin": "mysql_native_password"}
    assert server[cid]["user_options"]["legacy"]["auth_plugin"] == "mysql_native_password"
    modern = do_client.databases.reset_auth(cid, "legacy", {"mysql_settings": {"auth_plugin": "caching_sha2_password"}})
    assert modern["user"]["mysql_settings"] == {"auth_plugin": "caching_sha2_password"}
    assert server[cid]["user_options"]["legacy"]["auth_plugin"] == "caching_sha2_password"

    assert "pooling is not supported for mysql" in refused(do_client.databases.list_connection_pools, cid)
    assert "pooling" in refused(
        do_client.databases.add_connection_pool, cid, {"name": "pool", "mode": "session", "size": 1, "db": "defaultdb"}
    )
    assert "pg_allow_replication" in refused(
        do_client.databases.add_user, cid, {"name": "repl", "settings": {"pg_allow_replication": True}}
    )


def test_valkey_cluster_has_no_users_databases_or_backups(do_client):
    created = do_client.databases.create_cluster({**PG, "name": "cache", "engine": "valkey"})["database"]
    cluster = wait_online(do_client, created["id"])
    conn = cluster["connection"]
    assert (conn["user"], conn["port"]) == ("default", 25061)
    assert conn["uri"] == f"rediss://default:{conn['password']}@{conn['host']}:25061"
    assert cluster["users"] is None and cluster["db_names"] is None
    assert "User management" in refused(do_client.databases.list_users, cluster["id"])
    assert "Database management" in refused(do_client.databases.add, cluster["id"], {"name": "x"})
    assert "Backups" in refused(do_client.databases.list_backups, cluster["id"])


def test_invalid_creates_are_refused_and_create_nothing(emulator, do_client, pg):
    create = do_client.databases.create_cluster
    vpcs = set(emulator.state()["vpcs"])
    assert "Version '9'" in refused(create, {**PG, "name": "bad-a1", "version": "9"})
    assert "Size 'db-s-9vcpu-1gb'" in refused(create, {**PG, "name": "bad-a2", "size": "db-s-9vcpu-1gb"})
    assert "Size 'm-2vcpu-16gb'" in refused(create, {**PG, "name": "bad-a3", "size": "m-2vcpu-16gb"})
    message = refused(create, {**PG, "name": "bad-a4", "num_nodes": 3})
    assert "Size 'db-s-1vcpu-1gb'" in message, "1 GiB nodes are single-node only"
    assert "cannot have 4 node(s)" in refused(create, {**PG, "name": "bad-a5", "num_nodes": 4})
    assert "Region 'xyz1'" in refused(create, {**PG, "name": "bad-a6", "region": "xyz1"})
    assert "invalid" in refused(create, {**PG, "name": "Bad_Name"})
    assert "already exists" in refused(create, dict(PG))
    assert "Engine 'redis'" in refused(create, {**PG, "name": "bad-a7", "engine": "redis"})
    assert "not found" in refused(create, {**PG, "name": "bad-a8", "private_network_uuid": str(uuid.uuid4())})
    other_region_vpc = do_client.databases.get_cluster(pg["id"])["database"]["private_network_uuid"]
    assert "not in the cluster's region" in refused(
        create, {**PG, "name": "bad-a9", "region": "ams3", "private_network_uuid": other_region_vpc}
    )
    assert "storage_size_mib" in refused(create, {**PG, "name": "bad-b1", "storage_size_mib": 5120})
    assert "droplet" in refused(create, {**PG, "name": "bad-b2", "rules": [{"type": "droplet", "value": "1"}]})
    assert "Project" in refused(create, {**PG, "name": "bad-b3", "project_id": str(uuid.uuid4())})
    assert "Tag name" in refused(create, {**PG, "name": "bad-b4", "tags": ["bad tag"]})
    assert [c["name"] for c in do_client.databases.list_clusters()["databases"]] == ["backend"]
    assert set(emulator.state()["vpcs"]) == vpcs, "no default VPC made for a refused create"


@pytest.mark.spec_violations_expected
def test_engine_outside_the_spec_is_refused(emulator):
    response = api(emulator, "POST", "/v2/databases", json={**PG, "engine": "oracle"})
    assert response.status_code == 422 and "engine" in response.json()["message"]
    assert api(emulator, "GET", "/v2/databases").json()["databases"] == []


def test_unknown_cluster_and_children_are_404(do_client, pg):
    missing = str(uuid.uuid4())
    for result in (
        do_client.databases.get_cluster(missing),
        do_client.databases.list_users(missing),
        do_client.databases.get_ca(missing),
        do_client.databases.destroy_cluster(missing),
        do_client.databases.get_user(pg["id"], "nobody"),
        do_client.databases.get(pg["id"], "nodb"),
        do_client.databases.get_connection_pool(pg["id"], "nopool"),
    ):
        assert result["id"] == "not_found" and result["message"]


def test_backups_config_maintenance_and_events(do_client, pg, server):
    cid = pg["id"]
    backups = do_client.databases.list_backups(cid)
    assert len(backups["backups"]) == 1 and backups["backups"][0]["size_gigabytes"] > 0
    assert backups["scheduled_backup_time"]["backup_interval_hours"] == 24

    assert do_client.databases.get_config(cid)["config"]["autovacuum_naptime"] == 60
    assert do_client.databases.patch_config(cid, {"config": {"autovacuum_naptime": 30, "jit": False}}) is None
    config = do_client.databases.get_config(cid)["config"]
    assert (config["autovacuum_naptime"], config["jit"], config["timezone"]) == (30, False, "UTC")
    assert server[cid]["config"]["autovacuum_naptime"] == 30

    assert do_client.databases.update_maintenance_window(cid, {"day": "tuesday", "hour": "14:00"}) is None
    window = do_client.databases.get_cluster(cid)["database"]["maintenance_window"]
    assert (window["day"], window["hour"]) == ("tuesday", "14:00:00")
    assert "Maintenance day" in refused(
        do_client.databases.update_maintenance_window, cid, {"day": "someday", "hour": "14:00"}
    )
    assert "Maintenance hour" in refused(
        do_client.databases.update_maintenance_window, cid, {"day": "monday", "hour": "25:00"}
    )

    events = do_client.databases.list_events_logs(cid)["events"]
    assert [e["event_type"] for e in events] == ["cluster_create", "cluster_update", "cluster_update"]
    assert all(e["cluster_name"] == "backend" for e in events)


def test_fork_from_a_backup(do_client, pg, server):
    do_client.databases.add_user(pg["id"], {"name": "app"})
    do_client.databases.add(pg["id"], {"name": "appdb"})
    backup = do_client.databases.list_backups(pg["id"])["backups"][0]["created_at"]
    fork = do_client.databases.create_cluster(
        {**PG, "name": "backend-fork", "backup_restore": {"database_name": "backend", "backup_created_at": backup}}
    )["database"]
    assert fork["status"] == "forking"
    fork = wait_online(do_client, fork["id"])
    assert fork["db_names"] == ["defaultdb", "appdb"]
    assert [u["name"] for u in fork["users"]] == ["doadmin", "app"]
    assert set(server[fork["id"]]["users"]) == {"doadmin", "app"}
    assert "no database cluster named" in refused(
        do_client.databases.create_cluster, {**PG, "name": "bad-f2", "backup_restore": {"database_name": "nothing"}}
    )
    assert "no backup taken at" in refused(
        do_client.databases.create_cluster,
        {
            **PG,
            "name": "bad-f3",
            "backup_restore": {"database_name": "backend", "backup_created_at": "2020-01-01T00:00:00Z"},
        },
    )
