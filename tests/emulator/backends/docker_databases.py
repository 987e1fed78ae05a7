"""Managed databases as real servers: PostgreSQL + PgBouncer and MariaDB containers.

One container per cluster (a primary only: the standby host names of a
multi-node cluster name the same server), built from tests/images/postgres
(`pg`, `advanced_pg`: Debian 13's PostgreSQL 17 whatever version was asked for,
PgBouncer) or tests/images/mariadb (`mysql`, `advanced_mysql`: Debian has no
MySQL, so MariaDB 11.8). Other engines (Valkey, MongoDB, Kafka, OpenSearch) stay
in memory (MemoryDatabases).

- Networks: the container is on the instance's public network (the
  `connection` host) and on its VPC's network (the `private_connection` host),
  with addresses from the droplets' pools (DockerCompute.allocate_addresses).
- Host names are DigitalOcean's shape (`<name>-do-user-<id>-0.db.ondigitalocean.com`,
  `private-...`, `replica-...`) and resolve as there: the emulator's DNS
  (docker_dns.py, every droplet's resolver) serves them in a zone
  db.ondigitalocean.com -- the public name to the public address, the private
  name to the VPC address (reachable only from inside the VPC) -- and they are
  network aliases of the container for Docker's own resolver. This machine does
  not use that DNS: a client here maps the names itself (libpq's `hostaddr=`
  next to `host=`, or an /etc/hosts line); the host info carries
  `addresses` ({host name: IPv4}) for that (`_hosts` in `/_emulator/state`).
- TLS: a CA per cluster (what `/ca` returns) signs a server certificate whose
  SANs are every host name and both addresses, so `sslmode=verify-full` (and
  MariaDB's `--ssl-verify-server-cert`) pass with the returned names. The server
  requires TLS from the network (PostgreSQL: hostnossl reject; MariaDB:
  require_secure_transport); PgBouncer on the pool port requires it too.
- Users, databases, configuration: SQL through `docker exec` (psql as
  `postgres` over the unix socket; `mariadb` as root over the socket). PostgreSQL:
  `doadmin` is CREATEDB CREATEROLE REPLICATION BYPASSRLS (not a superuser) and
  owns the databases created through the API; other users get what PUBLIC has
  (CONNECT; since PostgreSQL 15 no CREATE on a database's public schema), as on
  DigitalOcean. MariaDB: `doadmin` has ALL with GRANT OPTION, other users the
  data privileges on every database; `caching_sha2_password` (which MariaDB
  lacks) is served as `mysql_native_password`.
- Connection pools: PgBouncer on 25061, one `[databases]` entry per pool (the
  pool's name is the database clients ask for; its db, user, size and mode),
  authenticated against the cluster's users (auth_file), reloaded on SIGHUP.
- Trusted sources: an iptables chain in the container's network namespace
  (entered from this machine, like the droplets' Cloud Firewalls) admits only
  the listed addresses to the server and pool ports and resets other
  connections; droplet and tag sources become the droplets' public and private
  addresses, re-resolved after every API write; Kubernetes and App Platform
  sources admit nothing here. No rules admits everyone, as on DigitalOcean.
- `online` once the server answers a verify-full TLS login as the primary
  user (from inside the container, so trusted sources do not hide it); a resize
  changes the container's memory/CPU limits (`docker update`); a fork copies
  the source's current data (not the data as of the chosen backup); delete
  removes the container and its volume.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import fcntl
import hashlib
import io
import ipaddress
import os
import re
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .databases import DEFAULT_PORT, POOL_PORT, DatabaseBackend, MemoryDatabases
from .docker_common import OWNER_LABEL, Docker, DockerError

IMAGES_DIR = Path(__file__).resolve().parents[2] / "images"
BASE_IMAGE = "seaworthy/droplet:debian-13"
RECIPE_LABEL = "io.seaworthy.recipe"
CACHE_LABEL = "io.seaworthy.cache"  # "keep": scripts/emulator-clean.sh leaves it unless --all
BUILD_LOCK_DIR = Path("/tmp")
DB_DOMAIN = "db.ondigitalocean.com"
HOST_KEYS = ("host", "private_host", "standby_host", "standby_private_host")


@dataclass(frozen=True)
class Flavour:
    recipe: str  # directory under tests/images
    image: str
    data_dir: str  # the volume


POSTGRES = Flavour("postgres", "seaworthy/dbaas-postgres:debian-13", "/var/lib/postgresql")
MARIADB = Flavour("mariadb", "seaworthy/dbaas-mariadb:debian-13", "/var/lib/mysql")
FLAVOURS = {"pg": POSTGRES, "advanced_pg": POSTGRES, "mysql": MARIADB, "advanced_mysql": MARIADB}
FIREWALL_CHAIN = "SEAWORTHY-TRUSTED"
READY_TIMEOUT = 180.0
PG_PRIMARY_ATTRIBUTES = "CREATEDB CREATEROLE REPLICATION BYPASSRLS"
MYSQL_USER_PRIVILEGES = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, REFERENCES, INDEX, ALTER, CREATE TEMPORARY TABLES, "
    "LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER"
)
CONFIG_KEY = re.compile(r"[a-z_][a-z0-9_.]*")


# -- quoting ------------------------------------------------------------------------
def pg_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pg_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"  # standard_conforming_strings is on


def userlist_quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def my_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def my_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def bouncer_value(text: str) -> str:
    """A value in a PgBouncer connection string (names here are letters, digits, `_`, `.`, `-`)."""
    return "'" + text.replace("'", "''") + "'"


POOL_NAME = re.compile(r"[A-Za-z0-9_-]+")  # what a [databases] key may be (PgBouncer's ini has no quoting)


def _config_value(value) -> str | None:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    return None  # nested settings (pgbouncer, timescaledb, ...) are DigitalOcean's, not the server's


# -- TLS ----------------------------------------------------------------------------
def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Seaworthy emulator"),
            # X.509 caps a CN at 64 characters; a cluster's host name can be longer
            # (<name>-do-user-<n>-0.<...>.db.ondigitalocean.com): clients check the SANs.
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def make_cluster_tls(cluster_name: str, names: list[str], addresses: list[str]) -> dict[str, bytes]:
    """A CA of the cluster's own and a server certificate for its host names and addresses."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{cluster_name} project CA"))
        .issuer_name(_name(f"{cluster_name} project CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return {
        "ca.pem": ca_cert.public_bytes(serialization.Encoding.PEM),
        "server.crt": cert.public_bytes(serialization.Encoding.PEM),
        "server.key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    }


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# -- a cluster's server ---------------------------------------------------------------
@dataclass
class Server:
    cluster_id: str
    name: str
    flavour: Flavour
    container: str
    volume: str
    hosts: dict  # the host information last reported
    addresses: dict[str, str]  # every host name (standby names too) -> its address
    public_ip: str
    private_ip: str
    tls: dict[str, bytes]
    primary: str
    users: dict[str, dict] = field(default_factory=dict)  # name -> {password, auth_plugin, replication}
    dbs: list[str] = field(default_factory=list)
    pools: list[dict] = field(default_factory=list)
    rules: list[dict] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ready: bool = False
    admitted: tuple[str, ...] | None = None  # the trusted-source networks last applied
    future: concurrent.futures.Future | None = None
    failure_reported: bool = False

    @property
    def postgres(self) -> bool:
        return self.flavour is POSTGRES


class DockerDatabases(DatabaseBackend):
    def __init__(self, docker: Docker, compute, store):
        self.docker = docker
        self.compute = compute  # DockerCompute: addresses from the droplets' pools, droplets' addresses
        self.store = store
        self.memory = MemoryDatabases()  # engines without a real server, clusters restored from a state file
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="database")
        self._servers: dict[str, Server] = {}
        self._image_locks = {f.recipe: threading.Lock() for f in (POSTGRES, MARIADB)}
        self._images_checked: set[str] = set()
        self.dns = None  # DockerDns, set by make_docker_backends: the host names go into its db.ondigitalocean.com zone

    # -- images --------------------------------------------------------------------------
    def _image_recipe(self, flavour: Flavour) -> str:
        return self.docker.run(
            "image", "inspect", "-f", f'{{{{index .Config.Labels "{RECIPE_LABEL}"}}}}', flavour.image, check=False
        )

    def recipe_hash(self, flavour: Flavour) -> str:
        """The recipe directory's files and the base image's own recipe: either changing rebuilds."""
        digest = hashlib.sha256()
        base = self.docker.run("image", "inspect", "-f", f'{{{{index .Config.Labels "{RECIPE_LABEL}"}}}}', BASE_IMAGE)
        digest.update(base.encode() + b"\0")
        recipe = IMAGES_DIR / flavour.recipe
        for path in sorted(p for p in recipe.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(recipe)).encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()[:16]

    def ensure_image(self, flavour: Flavour) -> None:
        """Build the flavour's image when it is missing or its recipe changed (checked once per process)."""
        with self._image_locks[flavour.recipe]:
            if flavour.recipe in self._images_checked:
                return
            if not self.docker.run("image", "inspect", "-f", "{{.Id}}", BASE_IMAGE, check=False):
                raise DockerError(
                    f"{BASE_IMAGE} is missing: build it with `make setup` (scripts/build-droplet-image.sh)"
                )
            wanted = self.recipe_hash(flavour)
            if self._image_recipe(flavour) != wanted:
                with (BUILD_LOCK_DIR / f"seaworthy-dbaas-{flavour.recipe}.lock").open("w") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)  # another emulator may be building it right now
                    if self._image_recipe(flavour) != wanted:
                        self._build(flavour, wanted)
            self._images_checked.add(flavour.recipe)

    def _build(self, flavour: Flavour, wanted: str) -> None:
        previous = self.docker.run("image", "inspect", "-f", "{{.Id}}", flavour.image, check=False)
        started = time.monotonic()
        print(f"emulator: building {flavour.image} (recipe {wanted}, about 1 min, once)", file=sys.stderr, flush=True)
        # Labelled as the emulator's but not as this instance's: the image outlives the instance,
        # is rebuilt only when its recipe changes, and `scripts/emulator-clean.sh --all` removes it.
        proc = subprocess.run(
            [
                "docker",
                "build",
                "-q",
                *("--label", f"{OWNER_LABEL}=emulator"),
                *("--label", f"{RECIPE_LABEL}={wanted}"),
                *("--label", f"{CACHE_LABEL}=keep"),
                *("-t", flavour.image),
                str(IMAGES_DIR / flavour.recipe),
            ],
            capture_output=True,
            env={**os.environ, "DOCKER_BUILDKIT": "0"},  # the engine's own builder: no buildx needed
            timeout=1800,
            check=False,
        )
        if proc.returncode != 0:
            raise DockerError(f"building {flavour.image} failed:\n{proc.stderr.decode(errors='replace')[-3000:]}")
        print(f"emulator: built {flavour.image} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        if previous:  # the superseded build (kept while a container of another emulator still uses it)
            self.docker.run("rmi", previous, check=False)

    # -- host names and sizes ---------------------------------------------------------------
    @staticmethod
    def host_names(cluster: dict) -> dict:
        base = f"{cluster['name']}-do-user-{cluster['id'][:8]}-0.{DB_DOMAIN}"
        hosts = {"host": base, "private_host": f"private-{base}", "port": DEFAULT_PORT}
        if cluster["engine"] in ("pg", "advanced_pg"):
            hosts["pool_port"] = POOL_PORT
        if cluster["num_nodes"] > 1:  # the standby names point at the same (only) server
            hosts.update(standby_host=f"replica-{base}", standby_private_host=f"private-replica-{base}")
        return hosts

    @staticmethod
    def limits(size: str) -> list[str]:
        memory_mib = int(re.search(r"-(\d+)gb", size).group(1)) * 1024
        vcpus = min(int(re.search(r"(\d+)vcpu", size).group(1)), os.cpu_count() or 1)
        return ["--memory", f"{memory_mib}m", "--memory-swap", f"{memory_mib * 2}m", "--cpus", str(vcpus)]

    # -- lifecycle -------------------------------------------------------------------------
    def _server(self, cluster: dict) -> Server | None:
        return self._servers.get(cluster["id"])

    def create_cluster(self, cluster, *, source=None, backup_created_at=None):
        flavour = FLAVOURS.get(cluster["engine"])
        if flavour is None:
            return self.memory.create_cluster(cluster, source=source, backup_created_at=backup_created_at)
        vpc = self.store.get("vpcs", cluster["private_network_uuid"])
        public_net, public_ip, vpc_net, private_ip = self.compute.allocate_addresses(vpc)
        # The certificate and the container's aliases carry the standby names from the start: a resize
        # to more nodes only makes the API (and DNS) show them.
        every = self.host_names({**cluster, "num_nodes": 2})
        public_names = [every["host"], every["standby_host"]]
        private_names = [every["private_host"], every["standby_private_host"]]
        server = Server(
            cluster_id=cluster["id"],
            name=cluster["name"],
            flavour=flavour,
            container=self.docker.name("db", cluster["id"][:8]),
            volume=self.docker.name("dbdata", cluster["id"][:8]),
            hosts={},
            addresses={n: public_ip for n in public_names} | {n: private_ip for n in private_names},
            public_ip=public_ip,
            private_ip=private_ip,
            tls=make_cluster_tls(cluster["name"], public_names + private_names, [public_ip, private_ip]),
            primary=cluster["users"][0]["name"],
            dbs=list(cluster["db_names"] or []),
            pools=[dict(p) for p in cluster.get("_pools") or []],
            rules=list(cluster.get("rules") or []),
        )
        for user in cluster["users"]:
            server.users[user["name"]] = self._user_options(user)
        source_server = self._servers.get(source["id"]) if source else None
        server.future = self.pool.submit(
            self._boot, server, dict(cluster), public_net, vpc_net, public_names, private_names, source_server
        )
        self._servers[cluster["id"]] = server
        return self._current_hosts(cluster, server)

    def _current_hosts(self, cluster: dict, server: Server) -> dict:
        """The host information for the cluster's current node count; DNS follows when the names change."""
        hosts = self.host_names(cluster)
        hosts["addresses"] = {hosts[key]: server.addresses[hosts[key]] for key in HOST_KEYS if key in hosts}
        if hosts != server.hosts:
            server.hosts = hosts
            self._publish_names()
        return dict(hosts)

    def _publish_names(self) -> None:
        """Every cluster's host names in the emulator's DNS, as DigitalOcean publishes them: the private
        names resolve (to VPC addresses) from anywhere, are reachable only from inside the VPC."""
        serve_zone = getattr(self.dns, "serve_zone", None)
        if serve_zone is None:
            return
        records = [
            {"type": "A", "name": name.removesuffix(f".{DB_DOMAIN}"), "data": address, "ttl": 30}
            for server in self._servers.values()
            for name, address in server.hosts.get("addresses", {}).items()
        ]
        try:
            serve_zone(DB_DOMAIN, records)
        except (RuntimeError, DockerError) as exc:
            print(f"emulator: database host names not published in DNS: {exc}", file=sys.stderr)

    @staticmethod
    def _user_options(user: dict) -> dict:
        return {
            "password": user["password"],
            "auth_plugin": (user.get("mysql_settings") or {}).get("auth_plugin"),
            "replication": bool((user.get("settings") or {}).get("pg_allow_replication")),
        }

    def _boot(self, server, cluster, public_net, vpc_net, public_names, private_names, source_server):
        flavour = server.flavour
        self.ensure_image(flavour)
        labels = self.docker.label_args(**{"io.seaworthy.database": cluster["id"]})
        self.docker.run("volume", "create", *labels, server.volume)
        aliases = [arg for name in public_names for arg in ("--network-alias", name)]
        self.docker.run(
            "create",
            "--name",
            server.container,
            "--hostname",
            cluster["name"][:63],
            "--init",
            *labels,
            *self.limits(cluster["size"]),
            "--network",
            public_net["name"],
            "--ip",
            server.public_ip,
            *aliases,
            "-v",
            f"{server.volume}:{flavour.data_dir}",
            flavour.image,
        )
        private_aliases = [arg for name in private_names for arg in ("--alias", name)]
        self.docker.run(
            "network", "connect", "--ip", server.private_ip, *private_aliases, vpc_net["name"], server.container
        )
        files = {f"etc/seaworthy-db/{name}": data for name, data in server.tls.items()}
        if server.postgres:
            with server.lock:
                files.update(self._bouncer_files(server))
        self.docker.run("cp", "-", f"{server.container}:/", input=_tar(files))
        self.docker.run("start", server.container)
        with server.lock:
            self._apply_firewall(server)
        self._wait_for_server(server)
        if source_server is not None:
            self._copy_data(source_server, server)
        with server.lock:
            self._apply_all(server)
            self._apply_firewall(server)  # again: trusted sources may have changed while the server started
            server.ready = True
        self._check_tls(server)

    def _wait_for_server(self, server: Server) -> None:
        probe = ["pg_isready", "-q"] if server.postgres else ["mariadb-admin", "--silent", "ping"]
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            proc = subprocess.run(["docker", "exec", server.container, *probe], capture_output=True, check=False)
            if proc.returncode == 0:
                return
            if time.monotonic() > deadline:
                logs = self.docker.run("logs", "--tail", "30", server.container, check=False)
                raise DockerError(f"{server.container} did not accept connections in {READY_TIMEOUT:.0f} s:\n{logs}")
            time.sleep(0.3)

    def _check_tls(self, server: Server) -> None:
        """Log in as the primary user over TCP with full verification of the certificate for the public name."""
        password = server.users[server.primary]["password"]
        host = server.hosts["host"]
        if server.postgres:
            conninfo = (
                f"host={host} hostaddr={server.public_ip} port={DEFAULT_PORT} user={server.primary} dbname=postgres "
                "sslmode=verify-full sslrootcert=/etc/seaworthy-db/ca.pem connect_timeout=5"
            )
            command = ["psql", "-X", "-Atc", "select 1", conninfo]
            env = ["-e", f"PGPASSWORD={password}"]
        else:
            command = [
                "mariadb",
                f"--host={server.public_ip}",
                f"--port={DEFAULT_PORT}",
                f"--user={server.primary}",
                "--ssl-ca=/etc/seaworthy-db/ca.pem",
                "--ssl-verify-server-cert",
                "--batch",
                "--skip-column-names",
                "-e",
                "select 1",
            ]
            env = ["-e", f"MYSQL_PWD={password}"]
        self.docker.run("exec", *env, server.container, *command)

    def poll_ready(self, cluster):
        server = self._server(cluster)
        if server is None:
            return self.memory.poll_ready(cluster)
        if not server.future.done():
            return None
        error = server.future.exception()
        if error is not None:
            if not server.failure_reported:
                server.failure_reported = True
                print(f"emulator: database cluster {cluster['name']} failed to start: {error}", file=sys.stderr)
            return None
        return self._current_hosts(cluster, server)

    def ca_certificate(self, cluster):
        server = self._server(cluster)
        if server is None:
            return self.memory.ca_certificate(cluster)
        return server.tls["ca.pem"].decode()

    def resize(self, cluster):
        server = self._server(cluster)
        if server is None:
            return self.memory.resize(cluster)
        if server.future.done() and server.future.exception() is None:
            self.docker.run("update", *self.limits(cluster["size"]), server.container)

    def delete_cluster(self, cluster):
        server = self._servers.pop(cluster["id"], None)
        if server is None:
            return self.memory.delete_cluster(cluster)

        def remove(_future):
            self.docker.run("rm", "-f", "-v", server.container, check=False)
            self.docker.run("volume", "rm", "-f", server.volume, check=False)

        server.future.add_done_callback(remove)
        self._publish_names()

    # -- what the server holds ---------------------------------------------------------------
    def _change(self, cluster: dict, memory_call, update, apply) -> None:
        """Record a change in the server's desired state; apply it now when the server is up (else at boot)."""
        server = self._server(cluster)
        if server is None:
            memory_call()
            return
        with server.lock:
            update(server)
            if server.ready:
                try:
                    apply(server)
                except DockerError as exc:
                    print(f"emulator: database cluster {server.name}: {exc}", file=sys.stderr)

    def ensure_user(self, cluster, name, password, *, auth_plugin=None, replication=False):
        def update(server):
            server.users[name] = {"password": password, "auth_plugin": auth_plugin, "replication": replication}

        def apply(server):
            self._apply_user(server, name)
            if server.postgres:
                self._reload_bouncer(server)

        self._change(
            cluster,
            lambda: self.memory.ensure_user(cluster, name, password, auth_plugin=auth_plugin, replication=replication),
            update,
            apply,
        )

    def drop_user(self, cluster, name):
        def apply(server):
            if server.postgres:
                self._drop_pg_role(server, name)
                self._reload_bouncer(server)
            else:
                self._sql(server, f"DROP USER IF EXISTS {my_literal(name)}@'%';")

        self._change(cluster, lambda: self.memory.drop_user(cluster, name), lambda s: s.users.pop(name, None), apply)

    def ensure_db(self, cluster, name):
        def update(server):
            if name not in server.dbs:
                server.dbs.append(name)

        self._change(cluster, lambda: self.memory.ensure_db(cluster, name), update, lambda s: self._apply_db(s, name))

    def drop_db(self, cluster, name):
        def update(server):
            if name in server.dbs:
                server.dbs.remove(name)

        def apply(server):
            if server.postgres:
                self._sql(server, f"DROP DATABASE IF EXISTS {pg_ident(name)} WITH (FORCE);")
            else:
                self._sql(server, f"DROP DATABASE IF EXISTS {my_ident(name)};")

        self._change(cluster, lambda: self.memory.drop_db(cluster, name), update, apply)

    def set_pools(self, cluster, pools):
        def update(server):
            server.pools = [dict(p) for p in pools]

        self._change(cluster, lambda: self.memory.set_pools(cluster, pools), update, self._reload_bouncer)

    def set_trusted_sources(self, cluster, rules):
        def update(server):
            server.rules = list(rules)

        self._change(cluster, lambda: self.memory.set_trusted_sources(cluster, rules), update, self._apply_firewall)

    def set_config(self, cluster, config):
        def update(server):
            server.config = dict(config)

        self._change(cluster, lambda: self.memory.set_config(cluster, config), update, self._apply_config)

    def after_write(self, store) -> None:
        """Droplets and tags named by trusted sources may have changed: admit their current addresses."""
        for server in list(self._servers.values()):
            cluster = store.get("database_clusters", server.cluster_id)
            if cluster is None:
                continue
            with server.lock:
                server.rules = list(cluster.get("rules") or [])
                if server.ready and self._admitted(server) != server.admitted:
                    try:
                        self._apply_firewall(server)
                    except DockerError as exc:
                        print(f"emulator: trusted sources of {server.name} not applied: {exc}", file=sys.stderr)

    # -- applying (under server.lock) ---------------------------------------------------------
    def _sql(self, server: Server, sql: str, database: str | None = None, force: bool = False) -> str:
        if server.postgres:
            command = ["exec", "-i", "-u", "postgres", server.container, "psql", "-X", "-q", "-At"]
            command += [] if force else ["-v", "ON_ERROR_STOP=1"]
            command += ["-d", database or "postgres"]
        else:
            command = ["exec", "-i", server.container, "mariadb", "--batch", "--skip-column-names"]
            command += ["--force"] if force else []
        return self.docker.run(*command, input=sql.encode(), timeout=120)

    def _apply_all(self, server: Server) -> None:
        primary_first = [server.primary] + [n for n in server.users if n != server.primary]
        for name in primary_first:
            self._apply_user(server, name)
        for name in server.dbs:
            self._apply_db(server, name)
        if server.postgres:
            self._reload_bouncer(server)
        if server.config:
            self._apply_config(server)

    def _apply_user(self, server: Server, name: str) -> None:
        options = server.users[name]
        primary = name == server.primary
        if server.postgres:
            attributes = (
                PG_PRIMARY_ATTRIBUTES if primary else ("REPLICATION" if options["replication"] else "NOREPLICATION")
            )
            sql = (
                f"SELECT {pg_literal(f'CREATE ROLE {pg_ident(name)} LOGIN')} "  # noqa: S608 (quoted: pg_literal/pg_ident)
                f"WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {pg_literal(name)}) \\gexec\n"
                f"ALTER ROLE {pg_ident(name)} WITH LOGIN PASSWORD {pg_literal(options['password'])} {attributes};\n"
            )
            if primary:
                sql += f"GRANT pg_monitor, pg_signal_backend TO {pg_ident(name)};\n"
            self._sql(server, sql)
            return
        # MariaDB has no caching_sha2_password: every user authenticates with mysql_native_password.
        user = f"{my_literal(name)}@'%'"
        password = my_literal(options["password"])
        privileges = "ALL PRIVILEGES" if primary else MYSQL_USER_PRIVILEGES
        grant_option = " WITH GRANT OPTION" if primary else ""
        self._sql(
            server,
            f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY {password};\n"
            f"ALTER USER {user} IDENTIFIED BY {password};\n"
            f"GRANT {privileges} ON *.* TO {user}{grant_option};\n",
        )

    def _drop_pg_role(self, server: Server, name: str) -> None:
        """What the role owns goes to the primary user, then the role goes."""
        databases = self._sql(
            server,
            "SELECT datname FROM pg_database WHERE datallowconn "  # noqa: S608 (quoted: pg_literal)
            f"AND EXISTS (SELECT FROM pg_roles WHERE rolname = {pg_literal(name)});",
        ).split()
        for database in databases:
            self._sql(
                server,
                f"REASSIGN OWNED BY {pg_ident(name)} TO {pg_ident(server.primary)};\nDROP OWNED BY {pg_ident(name)};\n",
                database=database,
            )
        self._sql(server, f"DROP ROLE IF EXISTS {pg_ident(name)};")

    def _apply_db(self, server: Server, name: str) -> None:
        if server.postgres:
            create = f"CREATE DATABASE {pg_ident(name)} OWNER {pg_ident(server.primary)}"
            self._sql(
                server,
                f"SELECT {pg_literal(create)} WHERE NOT EXISTS "  # noqa: S608 (quoted: pg_literal/pg_ident)
                f"(SELECT FROM pg_database WHERE datname = {pg_literal(name)}) \\gexec\n",
            )
        else:
            self._sql(server, f"CREATE DATABASE IF NOT EXISTS {my_ident(name)};")

    def _bouncer_files(self, server: Server) -> dict[str, bytes]:
        lines = ["[databases]"]
        for pool in server.pools:
            if not POOL_NAME.fullmatch(pool["name"]):
                continue  # the API admits no other names
            target = f"host=127.0.0.1 port={DEFAULT_PORT} dbname={bouncer_value(pool['db'])}"
            if pool.get("user"):
                target += f" user={bouncer_value(pool['user'])}"
            target += f" pool_size={int(pool['size'])} pool_mode={pool['mode']}"
            lines.append(f"{pool['name']} = {target}")
        users = [f"{userlist_quote(name)} {userlist_quote(o['password'])}" for name, o in server.users.items()]
        return {
            "etc/pgbouncer/pools.ini": ("\n".join(lines) + "\n").encode(),
            "etc/pgbouncer/userlist.txt": ("\n".join(users) + "\n").encode(),
        }

    def _reload_bouncer(self, server: Server) -> None:
        self.docker.run(
            "exec",
            "-i",
            server.container,
            "sh",
            "-c",
            "tar -x --no-same-owner -C / && chown postgres:postgres /etc/pgbouncer/pools.ini /etc/pgbouncer/userlist.txt"
            " && for i in $(seq 50); do [ -s /run/postgresql/pgbouncer.pid ] && break; sleep 0.1; done"
            " && kill -HUP $(cat /run/postgresql/pgbouncer.pid)",
            input=_tar(self._bouncer_files(server)),
        )

    def _apply_config(self, server: Server) -> None:
        statements = []
        for key, value in server.config.items():
            text = _config_value(value)
            if text is None or not CONFIG_KEY.fullmatch(key):
                continue
            if server.postgres:
                statements.append(f"ALTER SYSTEM SET {key} = {pg_literal(text)};")
            else:
                statements.append(f"SET GLOBAL {key} = {my_literal(text) if not text.isdigit() else text};")
        if server.postgres:
            statements.append("SELECT pg_reload_conf();")
        # Parameters this server does not know (DigitalOcean's own, MySQL-only ones) are skipped, not fatal.
        self._sql(server, "\n".join(statements) + "\n", force=True)

    def _copy_data(self, source: Server, server: Server) -> None:
        """A fork: the source cluster's data as it is now (this backing keeps no backups)."""
        try:
            source.future.result()
            if source.postgres:
                dump = subprocess.run(
                    ["docker", "exec", "-u", "postgres", source.container, "pg_dumpall"],
                    capture_output=True,
                    timeout=600,
                    check=True,
                ).stdout
                self.docker.run("exec", "-i", "-u", "postgres", server.container, "psql", "-X", "-q", input=dump)
            elif source.dbs:
                dump = subprocess.run(
                    ["docker", "exec", source.container, "mariadb-dump", "--databases", *source.dbs],
                    capture_output=True,
                    timeout=600,
                    check=True,
                ).stdout
                self.docker.run("exec", "-i", server.container, "mariadb", input=dump)
        except (DockerError, subprocess.SubprocessError, concurrent.futures.CancelledError) as exc:
            print(f"emulator: fork {server.name}: copying {source.name}'s data failed: {exc}", file=sys.stderr)

    # -- trusted sources --------------------------------------------------------------------------
    def _admitted(self, server: Server) -> tuple[str, ...]:
        """The networks the rules admit; () admits everyone."""
        if not server.rules:
            return ()
        networks: list[str] = []
        droplets = self.store.all("droplets")
        for rule in server.rules:
            kind, value = rule["type"], str(rule["value"])
            if kind == "ip_addr":
                networks.append(str(ipaddress.ip_network(value, strict=False)))
            elif kind in ("droplet", "tag"):
                for droplet in droplets:
                    if (kind == "droplet" and str(droplet["id"]) == value) or (
                        kind == "tag" and value in (droplet.get("tags") or [])
                    ):
                        networks += self._droplet_addresses(droplet["id"])
            # k8s and app sources: no such hosts here, nothing to admit.
        # Something must be listed even when no source resolved: a rule that admits nothing still shuts others out.
        return tuple(dict.fromkeys(networks)) or ("0.0.0.0/32",)

    def _droplet_addresses(self, droplet_id: int) -> list[str]:
        try:
            networks = self.compute.networks(droplet_id)
        except KeyError:
            return []
        return [f"{n['ip_address']}/32" for n in networks["v4"]]

    def _apply_firewall(self, server: Server) -> None:
        admitted = self._admitted(server)
        pid = self.docker.pid(server.container)
        if pid == 0:
            raise DockerError(f"{server.container} is not running")
        lines = ["*filter", f":{FIREWALL_CHAIN} - [0:0]", f"-F {FIREWALL_CHAIN}"]
        if admitted:
            lines.append(f"-A {FIREWALL_CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN")
            lines += [f"-A {FIREWALL_CHAIN} -s {network} -j RETURN" for network in admitted]
            lines.append(f"-A {FIREWALL_CHAIN} -p tcp -j REJECT --reject-with tcp-reset")
            lines.append(f"-A {FIREWALL_CHAIN} -j DROP")
        lines.append("COMMIT\n")
        self._nsenter(pid, "iptables-restore", "--noflush", input="\n".join(lines).encode())
        ports = f"{DEFAULT_PORT},{POOL_PORT}"
        jump = ["INPUT", "!", "-i", "lo", "-p", "tcp", "-m", "multiport", "--dports", ports, "-j", FIREWALL_CHAIN]
        if self._nsenter(pid, "iptables", "-C", *jump, check=False) is None:
            self._nsenter(pid, "iptables", "-I", *jump)
        server.admitted = admitted

    @staticmethod
    def _nsenter(pid: int, *command: str, input: bytes | None = None, check: bool = True) -> str | None:
        proc = subprocess.run(
            ["nsenter", "-t", str(pid), "-n", *command], input=input, capture_output=True, check=False
        )
        if proc.returncode != 0:
            if check:
                raise DockerError(f"{command[0]} in a database container's netns: {proc.stderr.decode().strip()}")
            return None
        return proc.stdout.decode()

    # -- teardown -----------------------------------------------------------------------------------
    def reset(self) -> None:
        self.close()
        self._publish_names()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="database")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        servers = list(self._servers.values())
        self._servers.clear()
        self.memory.reset()
        if servers:
            self.docker.run("rm", "-f", "-v", *[s.container for s in servers], check=False)
            self.docker.run("volume", "rm", "-f", *[s.volume for s in servers], check=False)
