"""Issue 4: managed database clusters are real servers (EMULATOR_BACKING=docker).

A `pg` cluster is PostgreSQL 17 + PgBouncer, a `mysql` cluster MariaDB, each in
a container on the public network and the cluster's VPC. The clients are two
droplets made through the API (real hosts on those networks, with Debian's
postgresql-client and mariadb-client): they resolve the host names the API
returns (the emulator's DNS serves db.ondigitalocean.com), verify the server
certificate against the cluster's `/ca` with the returned host name
(`sslmode=verify-full`, `--ssl-verify-server-cert`), and prove trusted sources:
one droplet admitted, the other refused.
"""

from __future__ import annotations

import base64
import ipaddress
import random
import shlex
import socket
import ssl
import struct
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.droplets import address, ssh

pytestmark = pytest.mark.docker

DROPLET = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}
CLUSTER = {"region": "nyc3", "size": "db-s-1vcpu-1gb", "num_nodes": 1}
CLIENTS = "postgresql-client mariadb-client"
ONLINE_TIMEOUT = 600  # the first run builds the server images (about 1 min each)


# -- helpers -----------------------------------------------------------------------------
def wait_active(client, droplet_id, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        droplet = client.droplets.get(droplet_id)["droplet"]
        if droplet["status"] == "active":
            return droplet
        time.sleep(0.5)
    raise AssertionError(f"droplet {droplet_id} not active after {timeout} s")


def psql(key, droplet, conn, *statements, dbname=None, check=True):
    """psql on the droplet with the connection details the API returned, verifying the server fully."""
    conninfo = (
        f"host={conn['host']} port={conn['port']} user={conn['user']} dbname={dbname or conn['database']} "
        "sslmode=verify-full sslrootcert=/root/pg-ca.pem connect_timeout=5"
    )
    commands = " ".join(f"-c {shlex.quote(s)}" for s in statements)
    command = (
        f"PGPASSWORD={shlex.quote(conn['password'])} psql {shlex.quote(conninfo)} -X -At -v ON_ERROR_STOP=1 {commands}"
    )
    return ssh(key, address(droplet), command, check=check)


def mariadb(key, droplet, conn, sql, *, database=None, check=True):
    """The MariaDB client on the droplet, requiring TLS and verifying the certificate for the returned host name."""
    command = (
        f"MYSQL_PWD={shlex.quote(conn['password'])} mariadb --host={conn['host']} --port={conn['port']} "
        f"--user={conn['user']} --ssl-ca=/root/mysql-ca.pem --ssl-verify-server-cert --connect-timeout=5 "
        f"--batch --skip-column-names {shlex.quote(database or conn['database'])} -e {shlex.quote(sql)}"
    )
    return ssh(key, address(droplet), command, check=check)


def refused(proc) -> bool:
    return proc.returncode != 0 and "refused" in proc.stderr.lower()


def private_range() -> str:
    """A /24 of 10.200.0.0/13 that no Docker network on this engine uses."""
    taken = []
    for network in subprocess.run(["docker", "network", "ls", "-q"], capture_output=True, text=True).stdout.split():
        subnets = subprocess.run(
            ["docker", "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", network],
            capture_output=True,
            text=True,
        ).stdout.split()
        taken += [ipaddress.ip_network(s) for s in subnets if ":" not in s]
    candidates = list(ipaddress.ip_network("10.200.0.0/13").subnets(new_prefix=24))
    random.shuffle(candidates)
    return str(next(c for c in candidates if not any(c.overlaps(t) for t in taken)))


class OnlineWatch(threading.Thread):
    """Polls clusters until `online`, noting how long each took from its create call."""

    def __init__(self, client, created: dict[str, tuple[str, float]]):
        super().__init__(daemon=True)
        self.client, self.created, self.online = client, created, {}

    def run(self):
        deadline = time.monotonic() + ONLINE_TIMEOUT
        while len(self.online) < len(self.created) and time.monotonic() < deadline:
            for engine, (cluster_id, started) in self.created.items():
                if engine not in self.online:
                    status = self.client.databases.get_cluster(cluster_id)["database"]["status"]
                    if status == "online":
                        self.online[engine] = time.monotonic() - started
            time.sleep(0.5)


# -- the world: a pg and a mysql cluster, two client droplets --------------------------------
@pytest.fixture(scope="module")
def world(docker_client, ssh_key):
    client = docker_client
    key = client.ssh_keys.create({"name": "db-tests", "public_key": ssh_key.with_suffix(".pub").read_text()})["ssh_key"]
    # A VPC of the test's own: another emulator on this engine may hold the region's default range.
    vpc = client.vpcs.create({"name": "db-tests", "region": "nyc3", "ip_range": private_range()})["vpc"]
    created = {}
    for engine in ("pg", "mysql"):
        started = time.monotonic()
        cluster = client.databases.create_cluster(
            {"name": f"{engine}-test", "engine": engine, "private_network_uuid": vpc["id"], **CLUSTER}
        )["database"]
        created[engine] = (cluster["id"], started)
    watch = OnlineWatch(client, created)
    watch.start()
    droplets = [
        client.droplets.create({"name": name, "ssh_keys": [key["id"]], "vpc_uuid": vpc["id"], **DROPLET})["droplet"]
        for name in ("db-client-a", "db-client-b")
    ]
    droplets = [wait_active(client, d["id"]) for d in droplets]
    install = f"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends {CLIENTS} >/dev/null"
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda d: ssh(ssh_key, address(d), install, timeout=600), droplets))
    watch.join()
    for engine in created:
        assert engine in watch.online, f"the {engine} cluster did not come online in {ONLINE_TIMEOUT} s"
        print(f"\n{engine} cluster online {watch.online[engine]:.1f} s after its create call")
    clusters = {engine: client.databases.get_cluster(cid)["database"] for engine, (cid, _) in created.items()}
    for engine, cluster in clusters.items():
        pem = base64.b64decode(client.databases.get_ca(cluster["id"])["ca"]["certificate"])
        for droplet in droplets:
            ssh(ssh_key, address(droplet), f"cat > /root/{engine}-ca.pem", input=pem.decode())
    return {"clusters": clusters, "a": droplets[0], "b": droplets[1], "key": ssh_key}


# -- PostgreSQL ------------------------------------------------------------------------------
def test_server_certificate_carries_the_host_names_and_is_signed_by_the_cluster_ca(
    world, docker_client, docker_emulator
):
    """From this machine (no resolver for the names): the address from the emulator's state, the name for TLS."""
    cluster = world["clusters"]["pg"]
    pem = base64.b64decode(docker_client.databases.get_ca(cluster["id"])["ca"]["certificate"]).decode()
    hosts = docker_emulator.app.store.get("database_clusters", cluster["id"])["_hosts"]
    context = ssl.create_default_context(cadata=pem)
    for kind in ("connection", "private_connection"):
        name = cluster[kind]["host"]
        assert name.endswith(".db.ondigitalocean.com")
        if kind == "private_connection":
            assert name.startswith("private-")
            continue  # only reachable from inside the VPC: see test_private_host_is_on_the_vpc
        with socket.create_connection((hosts["addresses"][name], 25060), timeout=5) as raw:
            raw.sendall(struct.pack("!II", 8, 80877103))  # PostgreSQL's SSLRequest
            assert raw.recv(1) == b"S"
            with context.wrap_socket(raw, server_hostname=name) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
    with socket.create_connection((hosts["addresses"][cluster["connection"]["host"]], 25060), timeout=5) as raw:
        raw.sendall(struct.pack("!II", 8, 80877103))
        raw.recv(1)
        with pytest.raises(ssl.SSLCertVerificationError):
            context.wrap_socket(raw, server_hostname="some-other-cluster.db.ondigitalocean.com")


def test_host_names_resolve_in_the_emulators_dns(world, docker_client, docker_emulator):
    """The droplets' resolver answers the names as DigitalOcean's DNS does: private names give VPC addresses."""
    from tests.emulator.backends.docker_dns import resolve

    server = docker_emulator.app.backends.dns.address
    for cluster in world["clusters"].values():
        vpc = docker_client.vpcs.get(cluster["private_network_uuid"])["vpc"]
        _rcode, public = resolve(server, cluster["connection"]["host"])
        _rcode, private = resolve(server, cluster["private_connection"]["host"])
        assert len(public) == 1 and ipaddress.ip_address(public[0]) in ipaddress.ip_network("100.64.0.0/10")
        assert len(private) == 1 and ipaddress.ip_address(private[0]) in ipaddress.ip_network(vpc["ip_range"])


def test_doadmin_connects_with_verify_full_and_creates_a_table(world):
    conn = world["clusters"]["pg"]["connection"]
    out = psql(
        world["key"],
        world["a"],
        conn,
        "CREATE TABLE notes (id serial PRIMARY KEY, body text)",
        "INSERT INTO notes (body) VALUES ('hello')",
        "SELECT body FROM notes",
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        "SELECT split_part(version(), ' ', 2)",
    ).stdout.split()
    assert out[-3:-1] == ["hello", "t"], out
    assert out[-1].startswith("17."), "Debian 13's PostgreSQL"


def test_plain_connections_are_refused(world):
    conn = world["clusters"]["pg"]["connection"]
    command = (
        f"PGPASSWORD={shlex.quote(conn['password'])} psql "
        f"'host={conn['host']} port=25060 user=doadmin dbname=defaultdb sslmode=disable' -c 'select 1'"
    )
    proc = ssh(world["key"], address(world["a"]), command, check=False)
    assert proc.returncode != 0 and "no encryption" in proc.stderr, proc.stderr


def test_user_and_database_made_through_the_api_exist_in_the_server(world, docker_client):
    cluster_id, key, a = world["clusters"]["pg"]["id"], world["key"], world["a"]
    docker_client.databases.add(cluster_id, {"name": "appdb"})
    user = docker_client.databases.add_user(cluster_id, {"name": "app"})["user"]
    admin = world["clusters"]["pg"]["connection"]
    # As on DigitalOcean (PostgreSQL 15+): doadmin owns the database; others need a grant to create in it.
    owner = psql(key, a, admin, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'appdb'")
    assert owner.stdout.strip() == "doadmin"
    as_app = {**admin, "user": "app", "password": user["password"], "database": "appdb"}
    denied = psql(key, a, as_app, "CREATE TABLE t (x int)", check=False)
    assert denied.returncode != 0 and "permission denied" in denied.stderr
    psql(key, a, admin, "GRANT ALL ON SCHEMA public TO app", dbname="appdb")
    out = psql(key, a, as_app, "CREATE TABLE t (x int)", "INSERT INTO t VALUES (42)", "SELECT x, current_user FROM t")
    assert out.stdout.split()[-1] == "42|app"


def test_connection_pool_is_pgbouncer_on_the_pool_port(world, docker_client):
    cluster_id, key, a = world["clusters"]["pg"]["id"], world["key"], world["a"]
    pool = docker_client.databases.add_connection_pool(
        cluster_id, {"name": "app-pool", "mode": "transaction", "size": 5, "db": "appdb", "user": "app"}
    )["pool"]
    conn = pool["connection"]
    assert conn["port"] == 25061 and conn["database"] == "app-pool"
    out = psql(
        key,
        a,
        conn,
        "CREATE TABLE pooled (x int)",
        "INSERT INTO pooled VALUES (7)",
        "SELECT x, current_database(), current_user, inet_client_addr(), inet_server_port() FROM pooled",
    )
    # The server sees PgBouncer (loopback) connecting to 25060, not the droplet.
    assert out.stdout.split()[-1] == "7|appdb|app|127.0.0.1|25060"
    docker_client.databases.delete_connection_pool(cluster_id, "app-pool")
    gone = psql(key, a, conn, "SELECT 1", check=False)
    assert gone.returncode != 0 and "no such database" in gone.stderr


def test_private_host_is_on_the_vpc(world, docker_client):
    cluster = world["clusters"]["pg"]
    vpc = docker_client.vpcs.get(cluster["private_network_uuid"])["vpc"]
    conn = cluster["private_connection"]
    out = psql(world["key"], world["a"], conn, "SELECT host(inet_server_addr())")
    assert ipaddress.ip_address(out.stdout.strip()) in ipaddress.ip_network(vpc["ip_range"])


def test_trusted_sources_admit_only_the_listed_hosts(world, docker_client):
    cluster, key, a, b = world["clusters"]["pg"], world["key"], world["a"], world["b"]
    conn, private = cluster["connection"], cluster["private_connection"]
    pool = docker_client.databases.add_connection_pool(
        cluster["id"], {"name": "admin-pool", "mode": "session", "size": 3, "db": "defaultdb"}
    )["pool"]["connection"]

    docker_client.databases.update_firewall_rules(
        cluster["id"], {"rules": [{"type": "droplet", "value": str(a["id"])}]}
    )
    for endpoint in (conn, private, pool):
        assert psql(key, a, endpoint, "SELECT 1").stdout.strip() == "1"
        assert refused(psql(key, b, endpoint, "SELECT 1", check=False)), f"{b['name']} must be refused on {endpoint}"

    docker_client.databases.update_firewall_rules(
        cluster["id"], {"rules": [{"type": "ip_addr", "value": address(b)}, {"type": "tag", "value": "db-admins"}]}
    )
    assert psql(key, b, conn, "SELECT 1").stdout.strip() == "1"
    assert refused(psql(key, a, conn, "SELECT 1", check=False)), "a is no longer listed"
    docker_client.tags.create({"name": "db-admins"})
    docker_client.tags.assign_resources(
        "db-admins", {"resources": [{"resource_id": str(a["id"]), "resource_type": "droplet"}]}
    )
    assert psql(key, a, conn, "SELECT 1").stdout.strip() == "1", "a is tagged db-admins now"

    docker_client.databases.update_firewall_rules(cluster["id"], {"rules": []})
    assert psql(key, b, pool, "SELECT 1").stdout.strip() == "1", "no rules admit everyone"


def test_user_reset_and_delete_reach_the_server(world, docker_client):
    cluster_id, key, a = world["clusters"]["pg"]["id"], world["key"], world["a"]
    admin = world["clusters"]["pg"]["connection"]
    old = docker_client.databases.add_user(cluster_id, {"name": "temp"})["user"]["password"]
    new = docker_client.databases.reset_auth(cluster_id, "temp", {})["user"]["password"]
    as_temp = {**admin, "user": "temp"}
    assert psql(key, a, {**as_temp, "password": new}, "SELECT current_user").stdout.strip() == "temp"
    stale = psql(key, a, {**as_temp, "password": old}, "SELECT 1", check=False)
    assert stale.returncode != 0 and "password authentication failed" in stale.stderr
    docker_client.databases.delete_user(cluster_id, "temp")
    assert psql(key, a, admin, "SELECT count(*) FROM pg_roles WHERE rolname = 'temp'").stdout.strip() == "0"


def wait_online(client, cluster_id, timeout=ONLINE_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster = client.databases.get_cluster(cluster_id)["database"]
        if cluster["status"] == "online":
            return cluster
        time.sleep(0.5)
    raise AssertionError(f"cluster {cluster_id} not online after {timeout} s")


def test_configuration_and_resize_reach_the_server(world, docker_client, docker_emulator):
    cluster, key, a = world["clusters"]["pg"], world["key"], world["a"]
    docker_client.databases.patch_config(cluster["id"], {"config": {"autovacuum_naptime": 30, "jit": False}})
    out = psql(key, a, cluster["connection"], "SHOW autovacuum_naptime", "SHOW jit")
    assert out.stdout.split() == ["30s", "off"]
    docker_client.databases.update_cluster_size(cluster["id"], {"size": "db-s-1vcpu-2gb", "num_nodes": 2})
    resized = wait_online(docker_client, cluster["id"])
    # One server here: the standby's name reaches it, and its certificate carries that name too.
    standby = resized["standby_connection"]
    assert standby["host"].startswith("replica-")
    assert psql(key, a, standby, "SELECT count(*) FROM notes").stdout.strip() == "1"
    container = f"seaworthy-emu-{docker_emulator.app.backends.docker.instance}-db-{cluster['id'][:8]}"
    memory = subprocess.run(
        ["docker", "inspect", "-f", "{{.HostConfig.Memory}}", container], capture_output=True, text=True, check=True
    )
    assert int(memory.stdout) == 2 * 1024**3


def test_fork_holds_the_source_data_and_trusted_sources_from_creation(world, docker_client):
    source, key, a, b = world["clusters"]["pg"], world["key"], world["a"], world["b"]
    started = time.monotonic()
    fork = docker_client.databases.create_cluster(
        {
            "name": "pg-fork",
            "engine": "pg",
            "private_network_uuid": source["private_network_uuid"],
            "backup_restore": {"database_name": source["name"]},
            "rules": [{"type": "droplet", "value": str(a["id"])}],
            **CLUSTER,
        }
    )["database"]
    fork = wait_online(docker_client, fork["id"])
    print(f"\npg fork online {time.monotonic() - started:.1f} s after its create call")
    pem = base64.b64decode(docker_client.databases.get_ca(fork["id"])["ca"]["certificate"]).decode()
    ssh(key, address(a), "cat > /root/pg-ca.pem", input=pem)  # the fork has a CA of its own
    try:
        assert psql(key, a, fork["connection"], "SELECT body FROM notes").stdout.strip() == "hello"
        assert refused(psql(key, b, fork["connection"], "SELECT 1", check=False))
    finally:
        source_pem = base64.b64decode(docker_client.databases.get_ca(source["id"])["ca"]["certificate"]).decode()
        ssh(key, address(a), "cat > /root/pg-ca.pem", input=source_pem)
        docker_client.databases.destroy_cluster(fork["id"])


# -- MySQL (MariaDB) --------------------------------------------------------------------------
def test_mysql_cluster_speaks_tls_with_the_cluster_ca(world):
    conn = world["clusters"]["mysql"]["connection"]
    out = mariadb(world["key"], world["a"], conn, "SHOW STATUS LIKE 'Ssl_version'; SELECT VERSION()")
    version, server = out.stdout.split("\n")[0].split("\t")[1], out.stdout.split("\n")[1]
    assert version in ("TLSv1.2", "TLSv1.3") and "MariaDB" in server
    plain = ssh(
        world["key"],
        address(world["a"]),
        f"MYSQL_PWD={shlex.quote(conn['password'])} mariadb -h {conn['host']} -P 25060 -u doadmin --skip-ssl -e 'select 1'",
        check=False,
    )
    assert plain.returncode != 0 and "insecure transport" in plain.stderr


def test_mysql_user_and_database_exist_in_the_server(world, docker_client):
    cluster = world["clusters"]["mysql"]
    docker_client.databases.add(cluster["id"], {"name": "shop"})
    user = docker_client.databases.add_user(cluster["id"], {"name": "shopper"})["user"]
    admin = cluster["connection"]
    listed = mariadb(
        world["key"], world["a"], admin, "SELECT user FROM mysql.user WHERE user = 'shopper'; SHOW DATABASES"
    )
    assert "shopper" in listed.stdout.split() and "shop" in listed.stdout.split()
    as_shopper = {**admin, "user": "shopper", "password": user["password"]}
    out = mariadb(
        world["key"],
        world["a"],
        as_shopper,
        "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'rope'); SELECT name FROM items",
        database="shop",
    )
    assert out.stdout.strip() == "rope"
    docker_client.databases.patch_config(cluster["id"], {"config": {"wait_timeout": 600}})
    assert mariadb(world["key"], world["a"], admin, "SELECT @@GLOBAL.wait_timeout").stdout.strip() == "600"


def test_mysql_trusted_sources(world, docker_client):
    cluster, key = world["clusters"]["mysql"], world["key"]
    docker_client.databases.update_firewall_rules(
        cluster["id"], {"rules": [{"type": "ip_addr", "value": f"{address(world['a'])}/32"}]}
    )
    assert mariadb(key, world["a"], cluster["connection"], "SELECT 1").stdout.strip() == "1"
    started = time.monotonic()
    blocked = mariadb(key, world["b"], cluster["connection"], "SELECT 1", check=False)
    # The client reports the reset as errno 111 (refused) or, connecting non-blocking, 115; either way at once,
    # well before its 5 s connect timeout.
    assert blocked.returncode != 0 and "Can't connect" in blocked.stderr, blocked.stderr
    assert time.monotonic() - started < 4, "refused, not timed out"
    docker_client.databases.update_firewall_rules(cluster["id"], {"rules": []})
    assert mariadb(key, world["b"], cluster["connection"], "SELECT 1").stdout.strip() == "1"


# -- deletion -------------------------------------------------------------------------------
def test_deleting_a_cluster_removes_its_server(world, docker_client, docker_emulator):
    instance = docker_emulator.app.backends.docker.instance
    for engine, cluster in world["clusters"].items():
        container = f"seaworthy-emu-{instance}-db-{cluster['id'][:8]}"
        volume = f"seaworthy-emu-{instance}-dbdata-{cluster['id'][:8]}"
        assert subprocess.run(["docker", "inspect", container], capture_output=True).returncode == 0
        docker_client.databases.destroy_cluster(cluster["id"])
        deadline = time.time() + 60
        while (
            time.time() < deadline
            and subprocess.run(["docker", "inspect", container], capture_output=True).returncode == 0
        ):
            time.sleep(0.5)
        assert subprocess.run(["docker", "inspect", container], capture_output=True).returncode != 0, (
            f"{engine} container gone"
        )
        assert subprocess.run(["docker", "volume", "inspect", volume], capture_output=True).returncode != 0, (
            "volume gone"
        )
