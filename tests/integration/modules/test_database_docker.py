"""End to end with the emulator's REAL database backing (EMULATOR_BACKING=docker).

The database modules provision a managed PostgreSQL cluster the way the seeds'
"Managed DB" mode needs it (VPC, app database and user, a transaction pool,
trusted sources limited to the app droplets); then, from the app droplet, a
client connects through the pool with `sslmode=verify-full` using the CA that
`database_cluster_info` returned, and writes and reads a row. A droplet that is
not a trusted source is refused.

The droplet image has no PostgreSQL client, so the client is a small
standard-library implementation of the wire protocol (TLS with the given CA and
host name check, SCRAM-SHA-256 / MD5 / cleartext authentication, simple queries),
copied to the droplet.

Skipped unless the real backing (tests/emulator/backends/docker_databases.py)
is present; marked `docker`.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pydo
import pytest

from tests.support.droplets import address, ssh
from tests.support.playbooks import run_tasks

REPO = Path(__file__).resolve().parents[3]
pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(
        not (REPO / "tests/emulator/backends/docker_databases.py").exists(),
        reason="the emulator's real database backing (backends/docker_databases.py) is not there",
    ),
]

DROPLET = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}

PG_CLIENT = r"""
import base64, hashlib, hmac, os, socket, ssl, struct, sys
from urllib.parse import urlsplit, unquote, parse_qs

def message(kind, payload):
    return kind + struct.pack("!I", len(payload) + 4) + payload

def read(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise SystemExit("connection closed by the server")
        data += chunk
    return data

def receive(sock):
    kind = read(sock, 1)
    (length,) = struct.unpack("!I", read(sock, 4))
    return kind, read(sock, length - 4)

def error_text(payload):
    fields = dict((f[:1].decode(), f[1:].decode()) for f in payload.split(b"\0") if f)
    return fields.get("S", "") + " " + fields.get("M", "")

def scram(sock, user, password, mechanisms):
    if b"SCRAM-SHA-256" not in mechanisms:
        raise SystemExit("no supported SASL mechanism: %r" % mechanisms)
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=,r=" + nonce
    first = ("n,," + first_bare).encode()
    sock.sendall(message(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first))
    kind, payload = receive(sock)
    if kind == b"E":
        raise SystemExit(error_text(payload))
    server_first = payload[4:].decode()
    attrs = dict(item.split("=", 1) for item in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(client_key).digest()
    without_proof = "c=biws,r=" + attrs["r"]
    auth = ",".join((first_bare, server_first, without_proof)).encode()
    signature = hmac.new(stored, auth, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    sock.sendall(message(b"p", (without_proof + ",p=" + base64.b64encode(proof).decode()).encode()))

def connect(uri):
    parts = urlsplit(uri)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if query.get("sslmode") != "verify-full":
        raise SystemExit("refusing a connection that does not verify the server: " + uri.split("@")[-1])
    user, password = unquote(parts.username), unquote(parts.password)
    raw = socket.create_connection((parts.hostname, parts.port), timeout=10)
    raw.sendall(struct.pack("!II", 8, 80877103))
    if read(raw, 1) != b"S":
        raise SystemExit("the server does not offer TLS")
    context = ssl.create_default_context(cafile=query["sslrootcert"])
    sock = context.wrap_socket(raw, server_hostname=parts.hostname)
    params = b"user\0" + user.encode() + b"\0database\0" + parts.path[1:].encode() + b"\0\0"
    sock.sendall(struct.pack("!II", len(params) + 8, 196608) + params)
    while True:
        kind, payload = receive(sock)
        if kind == b"E":
            raise SystemExit(error_text(payload))
        if kind == b"R":
            (code,) = struct.unpack("!I", payload[:4])
            if code == 3:
                sock.sendall(message(b"p", password.encode() + b"\0"))
            elif code == 5:
                inner = hashlib.md5((password + user).encode()).hexdigest().encode()
                sock.sendall(message(b"p", b"md5" + hashlib.md5(inner + payload[4:8]).hexdigest().encode() + b"\0"))
            elif code == 10:
                scram(sock, user, password, payload[4:])
        elif kind == b"Z":
            return sock

def query(sock, sql):
    sock.sendall(message(b"Q", sql.encode() + b"\0"))
    rows, failure = [], None
    while True:
        kind, payload = receive(sock)
        if kind == b"D":
            (count,) = struct.unpack("!H", payload[:2])
            offset, row = 2, []
            for _ in range(count):
                (size,) = struct.unpack("!i", payload[offset:offset + 4])
                offset += 4
                row.append(None if size < 0 else payload[offset:offset + size].decode())
                offset += max(size, 0)
            rows.append(row)
        elif kind == b"E":
            failure = error_text(payload)
        elif kind == b"Z":
            if failure:
                raise SystemExit(failure)
            return rows

sock = connect(sys.argv[1])
for row in query(sock, sys.argv[2]):
    print("|".join("" if v is None else v for v in row))
sock.sendall(message(b"X", b""))
"""


def wait_active(client, droplet_id, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        droplet = client.droplets.get(droplet_id)["droplet"]
        if droplet["status"] == "active" and droplet["networks"]["v4"]:
            return droplet
        time.sleep(1)
    raise AssertionError(f"droplet {droplet_id} not active after {timeout} s")


@pytest.fixture(scope="module")
def real_emulator(tmp_path_factory):
    from tests.emulator.config import EmulatorConfig
    from tests.emulator.server import Emulator

    config = EmulatorConfig.from_env(
        port=0, backing="docker", rate_per_minute=None, rate_per_hour=None, data_dir=tmp_path_factory.mktemp("emu")
    )
    emulator = Emulator(config).start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def hosts(real_emulator, tmp_path_factory):
    """An app droplet (tag `web`) and an outsider in the same VPC, reachable over SSH."""
    key_path = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_path)], check=True)
    client = pydo.Client(
        token=real_emulator.token, endpoint=real_emulator.url, connection_verify=str(real_emulator.ca_bundle)
    )
    key = client.ssh_keys.create({"name": "tests", "public_key": key_path.with_suffix(".pub").read_text()})["ssh_key"]
    vpc = client.vpcs.create({"name": "app-vpc", "region": "nyc3", "ip_range": "10.30.0.0/20"})["vpc"]
    common = {"ssh_keys": [key["id"]], "vpc_uuid": vpc["id"], **DROPLET}
    web = client.droplets.create({"name": "web-1", "tags": ["web"], **common})["droplet"]
    outsider = client.droplets.create({"name": "outsider-1", **common})["droplet"]
    return key_path, wait_active(client, web["id"]), wait_active(client, outsider["id"])


def run_client(key, droplet, uri, sql, check=True):
    ssh(key, address(droplet), "cat > /root/pgclient.py", input=PG_CLIENT)
    return ssh(key, address(droplet), f"python3 /root/pgclient.py '{uri}' \"{sql}\"", check=check)


def test_app_droplet_reaches_the_pool_with_verify_full_and_outsiders_are_refused(real_emulator, hosts, tmp_path):
    key, web, outsider = hosts
    cluster = "app-db"
    tasks = [
        {
            "name": "cluster",
            "seaworthy.digitalocean.database_cluster": {
                "name": cluster,
                "engine": "pg",
                "region": "nyc3",
                "size": "db-s-1vcpu-2gb",
                "private_network": "app-vpc",
                "wait_timeout": 900,
            },
        },
        {"name": "db", "seaworthy.digitalocean.database_db": {"cluster": cluster, "name": "app"}},
        {"name": "user", "seaworthy.digitalocean.database_user": {"cluster": cluster, "name": "app"}},
        {
            "name": "pool",
            "seaworthy.digitalocean.database_pool": {
                "cluster": cluster,
                "name": "app-pool",
                "mode": "transaction",
                "size": 10,
                "db": "app",
                "user": "app",
            },
        },
        {"name": "firewall", "seaworthy.digitalocean.database_firewall": {"cluster": cluster, "tags": ["web"]}},
        {
            "name": "info",
            "seaworthy.digitalocean.database_cluster_info": {"name": cluster, "ca_path": "/root/db-ca.pem"},
            "register": "info",
        },
    ]
    provisioned = run_tasks(tasks, real_emulator.client_env(), tmp_path)
    assert provisioned.rc == 0, json.dumps(provisioned.tasks, indent=1)[:4000]
    info = provisioned.result("info")
    for droplet in (web, outsider):
        ssh(key, address(droplet), "cat > /root/db-ca.pem", input=info["ca_certificate"])

    owner_uri = info["uris"]["private"].replace("/defaultdb?", "/app?")
    run_client(key, web, owner_uri, "GRANT CREATE ON SCHEMA public TO app")

    pool_uri = info["pool_uris"]["app-pool"]["private"]
    assert "sslmode=verify-full" in pool_uri and ":25061/app-pool?" in pool_uri
    written = run_client(
        key,
        web,
        pool_uri,
        "CREATE TABLE IF NOT EXISTS visits (n integer); INSERT INTO visits VALUES (42); SELECT n FROM visits",
    )
    assert written.stdout.split() == ["42"], written.stderr

    refused = run_client(key, outsider, pool_uri, "SELECT 1", check=False)
    assert refused.returncode != 0 and "42" not in refused.stdout
    assert any(e in refused.stderr for e in ("ConnectionRefusedError", "ConnectionResetError", "TimeoutError")), (
        refused.stderr[-600:]
    )
