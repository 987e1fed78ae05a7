"""Managed databases: clusters and their users, databases, connection pools and trusted sources.

A cluster is `creating` (or `forking`, restored from a backup) until the
backend reports its server up after `EMULATOR_DELAY_DATABASE` seconds, then
`online`; a resize makes it `resizing` the same way. The primary user
(`doadmin`; `default` for Valkey) and the first database (`defaultdb`) exist
from creation. Every change to what the server holds goes through
`ctx.backends.databases`, so a real backing only has to mirror it.

Store table `database_clusters` (id -> cluster). A cluster record holds its
public fields plus private ones (leading underscore, never served): `_hosts`
(host information from the backend), `_pools`, `_config`, `_events`,
`_online_at` (the first backup is taken when the cluster first comes online,
then one a day).
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..errors import not_found, unprocessable
from ..store import new_uuid, now_iso
from ._shared import default_vpc, ensure_tags, urn, validate_tag_name
from .catalog import REGION_NAMES, require_region
from .projects import assign_to_project, project_of, require_project

TABLE = "database_clusters"

# Node sizes, by family, as DigitalOcean names them.
DB_S = [
    "db-s-1vcpu-1gb",
    "db-s-1vcpu-2gb",
    "db-s-2vcpu-4gb",
    "db-s-4vcpu-8gb",
    "db-s-6vcpu-16gb",
    "db-s-8vcpu-32gb",
    "db-s-16vcpu-64gb",
]
GD = ["gd-2vcpu-8gb", "gd-4vcpu-16gb", "gd-8vcpu-32gb", "gd-16vcpu-64gb", "gd-32vcpu-128gb", "gd-40vcpu-160gb"]
SO = [f"so1_5-{s}" for s in ("2vcpu-16gb", "4vcpu-32gb", "8vcpu-64gb", "16vcpu-128gb", "24vcpu-192gb", "32vcpu-256gb")]
MEM = [f"m-{s}" for s in ("2vcpu-16gb", "4vcpu-32gb", "8vcpu-64gb", "16vcpu-128gb", "24vcpu-192gb", "32vcpu-256gb")]
PREMIUM = [
    f"db-{cpu}-{s}"
    for s in (
        "1vcpu-1gb",
        "1vcpu-2gb",
        "2vcpu-4gb",
        "2vcpu-8gb",
        "4vcpu-8gb",
        "4vcpu-16gb",
        "8vcpu-32gb",
        "16vcpu-64gb",
    )
    for cpu in ("intel", "amd")
]
ADVANCED = GD[:5] + [f"{s}-intel" for s in GD[:5]] + SO + [f"{s}-intel" for s in SO]
SQL_SINGLE = DB_S[:5] + GD + SO + PREMIUM
SQL_MULTI = DB_S[1:5] + GD + SO + PREMIUM[2:]  # no 1 GiB nodes with standbys
KV_SINGLE, KV_MULTI = DB_S + MEM, DB_S[1:] + MEM
OPENSEARCH_LARGE = ["gd-2vcpu-8gb", "m3-2vcpu-16gb", "gd-4vcpu-16gb", "m3-4vcpu-32gb", "m3-8vcpu-64gb"]

# Disk included with a node size (DigitalOcean's published numbers for the db-s family);
# other families: 10 GiB per GiB of RAM. Extra storage comes in steps of 10 GiB.
BASE_STORAGE_GIB = {"db-s-2vcpu-2gb": 40} | dict(zip(DB_S, (10, 30, 60, 140, 290, 580, 1120), strict=True))
STORAGE_STEP_MIB = 10 * 1024
# PgBouncer: 25 backend connections per GiB of the primary node's RAM, 3 of them
# reserved for maintenance (the spec's connection_pool.size text: 1 GiB -> 22, 4 GiB -> 97).
POOL_CONNECTIONS_PER_GIB, POOL_RESERVED = 25, 3
POOL_MODES = ("session", "transaction", "statement")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SQL_URI = "{scheme}://{user}:{password}@{host}:{port}/{database}?{query}"


@dataclass(frozen=True)
class Engine:
    # version -> (semantic version, end of life, end of availability)
    versions: dict[str, tuple[str, str | None, str | None]]
    default_version: str | None
    layouts: dict[int, list[str]]
    uri: str
    scheme: str = ""
    query: str = ""
    admin: str = "doadmin"
    default_db: str | None = "defaultdb"
    users: bool = True  # user management
    dbs: bool = True  # database management
    backups: bool = True
    pools: bool = False
    creatable: bool = True
    config: dict = field(default_factory=dict)  # engine defaults shown by GET .../config


PG_CONFIG = {"autovacuum_naptime": 60, "autovacuum_max_workers": 3, "jit": True, "timezone": "UTC"}
MYSQL_CONFIG = {
    "sql_mode": "ANSI,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE,NO_ZERO_IN_DATE,STRICT_ALL_TABLES",
    "sql_require_primary_key": True,
    "wait_timeout": 28800,
}
KV_CONFIG = {"valkey_maxmemory_policy": "allkeys_lru", "valkey_timeout": 300}

ENGINES = {
    "pg": Engine(
        versions={
            "13": ("13.22", "2025-11-13T00:00:00Z", "2025-05-13T00:00:00Z"),
            "14": ("14.19", "2026-11-12T00:00:00Z", "2026-05-12T00:00:00Z"),
            "15": ("15.14", "2027-11-11T00:00:00Z", "2027-05-12T00:00:00Z"),
            "16": ("16.10", "2028-11-09T00:00:00Z", "2028-05-09T00:00:00Z"),
            "17": ("17.6", "2029-11-08T00:00:00Z", "2029-05-08T00:00:00Z"),
        },
        default_version="17",
        layouts={1: SQL_SINGLE, 2: SQL_MULTI, 3: SQL_MULTI},
        uri=SQL_URI,
        scheme="postgresql",
        query="sslmode=require",
        pools=True,
        config=PG_CONFIG,
    ),
    "advanced_pg": Engine(
        versions={
            "16": ("16.10", "2028-11-09T00:00:00Z", "2028-05-09T00:00:00Z"),
            "17": ("17.6", "2029-11-08T00:00:00Z", "2029-05-08T00:00:00Z"),
            "18": ("18.1", "2030-11-13T00:00:00Z", "2030-05-13T00:00:00Z"),
        },
        default_version="18",
        layouts={1: ADVANCED, 2: ADVANCED, 3: ADVANCED},
        uri=SQL_URI,
        scheme="postgresql",
        query="sslmode=require",
        config=PG_CONFIG,
    ),
    "mysql": Engine(
        versions={"8": ("8.0.40", None, None)},
        default_version="8",
        layouts={1: SQL_SINGLE, 2: SQL_MULTI, 3: SQL_MULTI},
        uri=SQL_URI,
        scheme="mysql",
        query="ssl-mode=REQUIRED",
        config=MYSQL_CONFIG,
    ),
    "advanced_mysql": Engine(
        versions={"8.4.8": ("8.4.8", None, None)},
        default_version="8.4.8",
        layouts={1: ADVANCED, 3: ADVANCED},
        uri=SQL_URI,
        scheme="mysql",
        query="ssl-mode=REQUIRED",
        config=MYSQL_CONFIG,
    ),
    "valkey": Engine(
        versions={"8": ("8.0.2", None, None)},
        default_version="8",
        layouts={1: KV_SINGLE, 2: KV_MULTI, 3: KV_MULTI},
        uri="rediss://{user}:{password}@{host}:{port}",
        admin="default",
        default_db=None,
        users=False,
        dbs=False,
        backups=False,
        config=KV_CONFIG,
    ),
    # Caching (Redis) clusters are listed but can no longer be created (spec: since 2025-04-30).
    "redis": Engine(
        versions={"7": ("7.2.4", "2025-06-30T00:00:00Z", "2025-04-30T00:00:00Z")},
        default_version=None,
        layouts={1: KV_SINGLE, 2: KV_MULTI, 3: KV_MULTI},
        uri="rediss://{user}:{password}@{host}:{port}",
        admin="default",
        default_db=None,
        users=False,
        dbs=False,
        backups=False,
        creatable=False,
    ),
    "mongodb": Engine(
        versions={
            "6.0": ("6.0.19", "2025-07-01T07:00:00Z", None),
            "7.0": ("7.0.16", "2026-08-01T07:00:00Z", None),
        },
        default_version="7.0",
        layouts={1: DB_S + GD + SO, 3: DB_S + GD + SO},
        uri="mongodb+srv://{user}:{password}@{host}/{database}?tls=true&authSource=admin",
        default_db="admin",
    ),
    "kafka": Engine(
        versions={"3.8": ("3.8.1", None, "2025-06-03T00:00:00Z")},
        default_version="3.8",
        layouts={3: ["gd-2vcpu-8gb", "gd-4vcpu-16gb", "db-s-2vcpu-4gb", "db-s-2vcpu-2gb"]}
        | {n: GD[:2] for n in (6, 9, 15)},
        uri="{host}:{port}",
        default_db=None,
        dbs=False,
        backups=False,
    ),
    "opensearch": Engine(
        versions={"1": ("1.3.20", None, None), "2": ("2.19.1", None, None)},
        default_version="2",
        layouts={
            1: [
                "db-s-1vcpu-2gb",
                "db-s-2vcpu-4gb",
                "gd-2vcpu-8gb",
                "m3-2vcpu-16gb",
                "db-s-4vcpu-8gb",
                *OPENSEARCH_LARGE[2:],
            ],
            3: ["db-s-2vcpu-4gb", "gd-2vcpu-8gb", "m3-2vcpu-16gb", "db-s-4vcpu-8gb", *OPENSEARCH_LARGE[2:]],
        }
        | {n: OPENSEARCH_LARGE for n in (6, 9, 15)},
        uri="https://{user}:{password}@{host}:{port}",
        default_db=None,
        dbs=False,
        backups=False,
    ),
}
# Per-engine user settings (the spec's user_settings: "not supported for other engines").
USER_SETTINGS = {
    "pg_allow_replication": ("pg", "advanced_pg"),
    "acl": ("kafka",),
    "opensearch_acl": ("opensearch",),
    "mongo_user_settings": ("mongodb",),
}
MYSQL_ENGINES = ("mysql", "advanced_mysql")
RESERVED_USERS = {"doadmin", "default", "postgres", "root", "mysql.sys", "_dodb"}
RESERVED_DBS = {
    "postgres",
    "template0",
    "template1",
    "_dodb",
    "mysql",
    "sys",
    "information_schema",
    "performance_schema",
}
CLUSTER_NAME = re.compile(r"[a-z][a-z0-9-]{1,61}[a-z0-9]")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
POOL_NAME = re.compile(r"[A-Za-z0-9_-]{3,60}")
HOUR = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")


# -- catalogue -------------------------------------------------------------------
def ram_gib(size: str) -> int:
    return int(re.search(r"-(\d+)gb", size).group(1))


def pool_limit(size: str) -> int:
    return POOL_CONNECTIONS_PER_GIB * ram_gib(size) - POOL_RESERVED


def base_storage_mib(size: str) -> int:
    return BASE_STORAGE_GIB.get(size, 10 * ram_gib(size)) * 1024


def options() -> dict:
    regions = sorted(REGION_NAMES)
    engines, availability = {}, {}
    for slug, engine in ENGINES.items():
        engines[slug] = {
            "regions": regions,
            "versions": list(engine.versions),
            "layouts": [{"num_nodes": n, "sizes": list(sizes)} for n, sizes in engine.layouts.items()],
        }
        if engine.default_version:
            engines[slug]["default_version"] = engine.default_version
        availability[slug] = [
            {
                "end_of_life": eol,
                "end_of_availability": eoa,
                "version": version,
                "default": version == engine.default_version,
            }
            for version, (_, eol, eoa) in engine.versions.items()
        ]
    return {"options": engines, "version_availability": availability}


# -- validation ------------------------------------------------------------------
def _engine(slug: str) -> Engine:
    engine = ENGINES.get(slug)
    if engine is None or not engine.creatable:
        offered = ", ".join(s for s, e in ENGINES.items() if e.creatable)
        raise unprocessable(f"Engine '{slug}' cannot be created. Available engines: {offered}.")
    return engine


def _version(engine_slug: str, engine: Engine, version) -> str:
    version = engine.default_version if version in (None, "") else str(version)
    if version not in engine.versions:
        raise unprocessable(
            f"Version '{version}' is not offered for {engine_slug}. Available versions: {', '.join(engine.versions)}."
        )
    return version


def _layout(engine_slug: str, engine: Engine, size: str, num_nodes: int) -> None:
    if num_nodes not in engine.layouts:
        counts = ", ".join(map(str, engine.layouts))
        raise unprocessable(f"{engine_slug} clusters cannot have {num_nodes} node(s). Available node counts: {counts}.")
    if size not in engine.layouts[num_nodes]:
        raise unprocessable(
            f"Size '{size}' is not available for {engine_slug} clusters of {num_nodes} node(s); "
            "see GET /v2/databases/options for the sizes offered."
        )


def _storage(size: str, requested, current: int | None = None) -> int:
    base = base_storage_mib(size)
    if not requested:
        return max(base, current or 0)
    if requested < base:
        raise unprocessable(f"storage_size_mib {requested} is below the {base} MiB included with size '{size}'.")
    if requested % STORAGE_STEP_MIB:
        raise unprocessable(f"storage_size_mib must be a multiple of {STORAGE_STEP_MIB} MiB (10 GiB), not {requested}.")
    if current and requested < current:
        raise unprocessable(f"Storage cannot be reduced: the cluster has {current} MiB, {requested} MiB requested.")
    return requested


def _cluster_name(store, name) -> str:
    if not isinstance(name, str) or not CLUSTER_NAME.fullmatch(name):
        raise unprocessable(
            f"Cluster name '{name}' is invalid: use 3 to 63 lowercase letters, numbers and dashes, "
            "starting with a letter and not ending with a dash."
        )
    if any(c["name"] == name for c in store.all(TABLE)):
        raise unprocessable(f"A database cluster named '{name}' already exists.")
    return name


def _vpc_for(ctx, vpc_id: str | None, region: str) -> dict | None:
    """The VPC named in the request (checked), or None for the region's default."""
    if not vpc_id:
        return None
    vpc = ctx.store.get("vpcs", vpc_id)
    if vpc is None:
        raise unprocessable(f"VPC '{vpc_id}' was not found.")
    if vpc["region"] != region:
        raise unprocessable(f"VPC '{vpc_id}' is in {vpc['region']}, not in the cluster's region {region}.")
    return vpc


def _check_source(ctx, kind: str, value: str) -> None:
    if kind == "ip_addr":
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise unprocessable(f"Trusted source '{value}' is not an IPv4 address or CIDR block.") from exc
        if network.version != 4:
            raise unprocessable(f"Trusted source '{value}': IPv6 addresses cannot be added as trusted sources.")
    elif kind == "droplet":
        if ctx.store.get("droplets", value) is None:
            raise unprocessable(f"Trusted source: droplet {value} was not found.")
    elif kind == "tag":
        validate_tag_name(value)
    else:  # k8s, app: referenced by UUID
        try:
            uuid.UUID(value)
        except ValueError as exc:
            raise unprocessable(f"Trusted source of type {kind} needs a UUID, not '{value}'.") from exc


def _rules(ctx, raw: list[dict], cluster_id: str, existing: list[dict] | tuple = ()) -> list[dict]:
    """Validated trusted sources; rules kept from `existing` keep their uuid and created_at."""
    if len(raw) > 100:
        raise unprocessable(f"A cluster admits at most 100 trusted sources, {len(raw)} given.")
    known = {(r["type"], r["value"]): r for r in existing}
    rules: list[dict] = []
    for item in raw:
        kind, value = item["type"], str(item["value"])
        _check_source(ctx, kind, value)
        if any((r["type"], r["value"]) == (kind, value) for r in rules):
            raise unprocessable(f"Trusted source {kind} '{value}' is listed twice.")
        previous = known.get((kind, value), {})
        rule = {
            "uuid": previous.get("uuid") or new_uuid(),
            "cluster_uuid": cluster_id,
            "type": kind,
            "value": value,
            "created_at": previous.get("created_at") or now_iso(),
        }
        if item.get("description"):
            rule["description"] = item["description"]
        rules.append(rule)
    return rules


# -- lookups ---------------------------------------------------------------------
def find_cluster(ctx, cluster_id: str) -> dict:
    cluster = ctx.store.get(TABLE, cluster_id)
    if cluster is None:
        raise not_found("database cluster")
    return cluster


def _engine_of(cluster: dict) -> Engine:
    return ENGINES[cluster["engine"]]


def _require(cluster: dict, feature: str, what: str) -> None:
    if not getattr(_engine_of(cluster), feature):
        raise unprocessable(f"{what} not supported for {cluster['engine']} clusters.")


def _user(cluster: dict, name: str) -> dict:
    for user in cluster["users"]:
        if user["name"] == name:
            return user
    raise not_found("database user")


def _pool(cluster: dict, name: str) -> dict:
    for pool in cluster["_pools"]:
        if pool["name"] == name:
            return pool
    raise not_found("connection pool")


# -- views -----------------------------------------------------------------------
def _connections(cluster: dict, user: dict, database: str | None, pooled: bool = False) -> dict:
    engine = _engine_of(cluster)
    hosts = cluster["_hosts"] or {}
    port = hosts.get("pool_port" if pooled else "port", 0)
    out = {}
    for key, host_key in (
        ("connection", "host"),
        ("private_connection", "private_host"),
        ("standby_connection", "standby_host"),
        ("standby_private_connection", "standby_private_host"),
    ):
        if key.startswith("standby") and host_key not in hosts:
            continue
        host = hosts.get(host_key, "")
        uri = engine.uri.format(
            scheme=engine.scheme,
            user=user["name"],
            password=user["password"],
            host=host,
            port=port,
            database=database or "",
            query=engine.query,
        )
        out[key] = {
            "uri": uri,
            "database": database or "",
            "host": host,
            "port": port,
            "user": user["name"],
            "password": user["password"],
            "ssl": True,
        }
    return out


def cluster_view(store, cluster: dict) -> dict:
    engine = _engine_of(cluster)
    view = {k: v for k, v in cluster.items() if not k.startswith("_")}
    view["project_id"] = project_of(store, urn("dbaas", cluster["id"]))
    view["users"] = [dict(u) for u in cluster["users"]] if engine.users else None
    view.update(_connections(cluster, cluster["users"][0], engine.default_db))
    hosts = cluster["_hosts"]
    if hosts:
        view["metrics_endpoints"] = [
            {"host": hosts[key], "port": 9273} for key in ("host", "standby_host") if key in hosts
        ]
    return view


def _pool_view(cluster: dict, pool: dict) -> dict:
    # A pool without a user connects as the inbound user; its connection details show the primary user.
    user = _user(cluster, pool["user"]) if pool.get("user") else cluster["users"][0]
    return {**pool, **_connections(cluster, user, pool["name"], pooled=True)}


# -- transitions -----------------------------------------------------------------
def _event(cluster: dict, event_type: str) -> None:
    event_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    cluster["_events"].append(
        {"id": event_id, "cluster_name": cluster["name"], "event_type": event_type, "create_time": now_iso()}
    )


def _settle(ctx, cluster: dict) -> None:
    """`online` once the backend reports the server up (after a create, a fork or a resize)."""
    store, backend = ctx.store, ctx.backends.databases

    def effect() -> float | None:
        if store.get(TABLE, cluster["id"]) is not cluster:
            return None  # deleted meanwhile
        hosts = backend.poll_ready(cluster)
        if hosts is None:
            return 1.0
        cluster.update(status="online", _hosts=hosts)
        cluster["_online_at"] = cluster["_online_at"] or now_iso()
        return None

    store.schedule(ctx.config.delay_database, effect)


def _backups(cluster: dict) -> list[dict]:
    """One backup when the cluster first came online, then one every 24 hours."""
    if not cluster["_online_at"]:
        return []
    first = datetime.strptime(cluster["_online_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    days = (datetime.now(UTC) - first) // timedelta(days=1)
    backups = []
    for n in range(days + 1):
        backup = {
            "created_at": (first + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "size_gigabytes": round(0.0335 + 0.0001 * n, 8),
        }
        if cluster["engine"] in MYSQL_ENGINES:
            backup["incremental"] = n > 0
        backups.append(backup)
    return backups


# -- cluster creation ------------------------------------------------------------
def _restore_source(ctx, restore: dict, engine_slug: str) -> tuple[dict, str]:
    """The cluster and backup time a fork restores from."""
    name = restore.get("database_name")
    source = next((c for c in ctx.store.all(TABLE) if c["name"] == name), None)
    if source is None:
        raise unprocessable(f"backup_restore: no database cluster named '{name}'.")
    if source["engine"] != engine_slug:
        raise unprocessable(f"backup_restore: '{name}' is a {source['engine']} cluster, not {engine_slug}.")
    _require(source, "backups", "backup_restore: backups are")
    backups = [b["created_at"] for b in _backups(source)]
    if not backups:
        raise unprocessable(f"backup_restore: cluster '{name}' has no backup yet.")
    wanted = restore.get("backup_created_at")
    if wanted is None:
        return source, backups[-1]
    try:
        at = datetime.fromisoformat(wanted).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError as exc:
        raise unprocessable(f"backup_restore: backup_created_at '{wanted}' is not an ISO 8601 time.") from exc
    if at not in backups:
        raise unprocessable(f"backup_restore: cluster '{name}' has no backup taken at {wanted}.")
    return source, at


def _maintenance_window(cluster_id: str) -> dict:
    seed = int(cluster_id[:8], 16)
    return {
        "day": DAYS[seed % 7],
        "hour": f"{seed % 24:02d}:{seed // 24 % 60:02d}:00",
        "pending": False,
        "description": [],
    }


def _primary_user(ctx, engine_slug: str, engine: Engine) -> dict:
    user = {"name": engine.admin, "role": "primary", "password": ctx.backends.databases.new_password()}
    if engine_slug in MYSQL_ENGINES:
        user["mysql_settings"] = {"auth_plugin": "caching_sha2_password"}
    return user


def create_cluster(ctx) -> dict:
    body = ctx.json
    name = _cluster_name(ctx.store, body.get("name"))
    engine_slug = body.get("engine")
    engine = _engine(engine_slug)
    version = _version(engine_slug, engine, body.get("version"))
    region = require_region(body.get("region"))
    size, num_nodes = body.get("size"), body.get("num_nodes")
    _layout(engine_slug, engine, size, num_nodes)
    storage = _storage(size, body.get("storage_size_mib"))
    vpc = _vpc_for(ctx, body.get("private_network_uuid"), region)
    tags = [validate_tag_name(t) for t in body.get("tags") or []]
    if body.get("project_id"):
        require_project(ctx.store, body["project_id"])
    cluster_id = new_uuid()
    rules = _rules(ctx, body.get("rules") or [], cluster_id)
    source, backup_at = (
        _restore_source(ctx, body["backup_restore"], engine_slug) if body.get("backup_restore") else (None, None)
    )

    semantic, eol, eoa = engine.versions[version]
    cluster = {
        "id": cluster_id,
        "name": name,
        "engine": engine_slug,
        "version": version,
        "semantic_version": semantic,
        "num_nodes": num_nodes,
        "size": size,
        "region": region,
        "status": "forking" if source else "creating",
        "created_at": now_iso(),
        "private_network_uuid": (vpc or default_vpc(ctx.store, region))["id"],
        "tags": tags,
        "db_names": [engine.default_db] if engine.dbs and engine.default_db else None,
        "users": [_primary_user(ctx, engine_slug, engine)],
        "maintenance_window": _maintenance_window(cluster_id),
        "rules": rules,
        "storage_size_mib": storage,
        "_hosts": None,
        "_pools": [],
        "_config": {},
        "_events": [],
        "_online_at": None,
    }
    if source:  # a fork holds the source's users and databases as of the backup
        cluster["users"] = [dict(u) for u in source["users"]]
        cluster["db_names"] = list(source["db_names"]) if source["db_names"] is not None else None
    cluster.update({k: v for k, v in (("version_end_of_life", eol), ("version_end_of_availability", eoa)) if v})
    if body.get("do_settings"):
        cluster["do_settings"] = body["do_settings"]

    backend = ctx.backends.databases
    cluster["_hosts"] = backend.create_cluster(cluster, source=source, backup_created_at=backup_at)
    if rules:
        backend.set_trusted_sources(cluster, rules)
    ensure_tags(ctx.store, tags)
    assign_to_project(ctx.store, urn("dbaas", cluster_id), body.get("project_id"))
    ctx.store.put(TABLE, cluster_id, cluster)
    _event(cluster, "cluster_create")
    _settle(ctx, cluster)
    return cluster


def resize_cluster(ctx, cluster: dict) -> None:
    if cluster["status"] != "online":
        raise unprocessable(f"Cluster '{cluster['name']}' is {cluster['status']}; it can be resized once online.")
    body = ctx.json
    engine = _engine_of(cluster)
    size, num_nodes = body.get("size"), body.get("num_nodes")
    _layout(cluster["engine"], engine, size, num_nodes)
    storage = _storage(size, body.get("storage_size_mib"), current=cluster["storage_size_mib"])
    used = sum(p["size"] for p in cluster["_pools"])
    if used > pool_limit(size):
        raise unprocessable(
            f"Connection pools use {used} connections but size '{size}' allows {pool_limit(size)}; shrink them first."
        )
    cluster.update(size=size, num_nodes=num_nodes, storage_size_mib=storage, status="resizing")
    ctx.backends.databases.resize(cluster)
    _event(cluster, "cluster_update")
    _settle(ctx, cluster)


# -- users -----------------------------------------------------------------------
def _user_settings(cluster: dict, body: dict) -> dict | None:
    settings = dict(body.get("settings") or {})
    if body.get("readonly"):
        if cluster["engine"] != "mongodb":
            raise unprocessable("readonly applies to MongoDB clusters only.")
        settings.setdefault("mongo_user_settings", {})["role"] = "readOnly"
    for key in settings:
        if cluster["engine"] not in USER_SETTINGS.get(key, ()):
            raise unprocessable(f"settings.{key} is not supported for {cluster['engine']} clusters.")
    for acl in settings.get("acl", []):
        acl.setdefault("id", "acl" + secrets.token_hex(6))
    return settings or None


def _mysql_settings(cluster: dict, body: dict) -> dict | None:
    settings = body.get("mysql_settings")
    if settings and cluster["engine"] not in MYSQL_ENGINES:
        raise unprocessable("mysql_settings apply to MySQL clusters only.")
    return settings


def _apply_user(ctx, cluster: dict, user: dict) -> None:
    ctx.backends.databases.ensure_user(
        cluster,
        user["name"],
        user["password"],
        auth_plugin=user.get("mysql_settings", {}).get("auth_plugin"),
        replication=bool((user.get("settings") or {}).get("pg_allow_replication")),
    )


def add_user(ctx, cluster: dict) -> dict:
    _require(cluster, "users", "User management is")
    body = ctx.json
    name = body.get("name")
    limit = 32 if cluster["engine"] in MYSQL_ENGINES else 63
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name) or len(name) > limit:
        raise unprocessable(
            f"User name '{name}' is invalid: up to {limit} letters, numbers, '_', '.' and '-', "
            "starting with a letter or '_'."
        )
    if name in RESERVED_USERS or name.startswith("pg_"):
        raise unprocessable(f"User name '{name}' is reserved.")
    if any(u["name"] == name for u in cluster["users"]):
        raise unprocessable(f"User '{name}' already exists.")
    user = {"name": name, "role": "normal", "password": ctx.backends.databases.new_password()}
    mysql_settings = _mysql_settings(cluster, body)
    if cluster["engine"] in MYSQL_ENGINES:
        user["mysql_settings"] = mysql_settings or {"auth_plugin": "caching_sha2_password"}
    settings = _user_settings(cluster, body)
    if settings:
        user["settings"] = settings
    _apply_user(ctx, cluster, user)
    cluster["users"].append(user)
    return user


def delete_user(ctx, cluster: dict, name: str) -> None:
    _require(cluster, "users", "User management is")
    user = _user(cluster, name)
    if user["role"] == "primary":
        raise unprocessable(f"User '{name}' is the cluster's primary user and cannot be deleted.")
    for pool in cluster["_pools"]:
        if pool.get("user") == name:
            raise unprocessable(f"User '{name}' is used by connection pool '{pool['name']}'; delete the pool first.")
    ctx.backends.databases.drop_user(cluster, name)
    cluster["users"].remove(user)


def reset_auth(ctx, cluster: dict, name: str) -> dict:
    _require(cluster, "users", "User management is")
    user = _user(cluster, name)
    mysql_settings = _mysql_settings(cluster, ctx.json)
    if mysql_settings:
        user["mysql_settings"] = mysql_settings
    user["password"] = ctx.backends.databases.new_password()
    _apply_user(ctx, cluster, user)
    return user


def update_user(ctx, cluster: dict, name: str) -> dict:
    _require(cluster, "users", "User management is")
    user = _user(cluster, name)
    settings = _user_settings(cluster, ctx.json)
    # Settings are replaced whole: an omitted pg_allow_replication is false again.
    if settings:
        user["settings"] = settings
    else:
        user.pop("settings", None)
    _apply_user(ctx, cluster, user)
    return user


# -- databases -------------------------------------------------------------------
def add_db(ctx, cluster: dict) -> str:
    _require(cluster, "dbs", "Database management is")
    name = ctx.json.get("name")
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name) or len(name) > 63:
        raise unprocessable(
            f"Database name '{name}' is invalid: up to 63 letters, numbers, '_', '.' and '-', "
            "starting with a letter or '_'."
        )
    if name in RESERVED_DBS:
        raise unprocessable(f"Database name '{name}' is reserved.")
    if name in cluster["db_names"]:
        raise unprocessable(f"Database '{name}' already exists.")
    ctx.backends.databases.ensure_db(cluster, name)
    cluster["db_names"].append(name)
    return name


def find_db(cluster: dict, name: str) -> str:
    _require(cluster, "dbs", "Database management is")
    if name not in cluster["db_names"]:
        raise not_found("database")
    return name


def delete_db(ctx, cluster: dict, name: str) -> None:
    find_db(cluster, name)
    for pool in cluster["_pools"]:
        if pool["db"] == name:
            raise unprocessable(
                f"Database '{name}' is used by connection pool '{pool['name']}'; delete the pool first."
            )
    ctx.backends.databases.drop_db(cluster, name)
    cluster["db_names"].remove(name)


# -- connection pools --------------------------------------------------------------
def _pool_fields(cluster: dict, body: dict, name: str) -> dict:
    mode, size, db, user = body.get("mode"), body.get("size"), body.get("db"), body.get("user")
    if mode not in POOL_MODES:
        raise unprocessable(f"Pool mode '{mode}' is invalid: use {', '.join(POOL_MODES)}.")
    if not isinstance(size, int) or size < 1:
        raise unprocessable(f"Pool size must be a positive number, not {size!r}.")
    if db not in cluster["db_names"]:
        raise unprocessable(f"Pool database '{db}' does not exist in the cluster.")
    if user and not any(u["name"] == user for u in cluster["users"]):
        raise unprocessable(f"Pool user '{user}' does not exist in the cluster.")
    used = sum(p["size"] for p in cluster["_pools"] if p["name"] != name)
    limit = pool_limit(cluster["size"])
    if used + size > limit:
        raise unprocessable(
            f"Pool size {size} exceeds the {limit - used} backend connections left: size '{cluster['size']}' allows "
            f"{limit} across all pools (25 per GiB of RAM, 3 reserved) and other pools use {used}."
        )
    pool = {"name": name, "mode": mode, "size": size, "db": db}
    if user:
        pool["user"] = user
    return pool


def add_pool(ctx, cluster: dict) -> dict:
    _require(cluster, "pools", "Connection pooling is")
    name = ctx.json.get("name")
    if not isinstance(name, str) or not POOL_NAME.fullmatch(name):
        raise unprocessable(f"Pool name '{name}' is invalid: use 3 to 60 letters, numbers, '_' and '-'.")
    if any(p["name"] == name for p in cluster["_pools"]):
        raise unprocessable(f"Connection pool '{name}' already exists.")
    pool = _pool_fields(cluster, ctx.json, name)
    ctx.backends.databases.set_pools(cluster, [*cluster["_pools"], pool])
    cluster["_pools"].append(pool)
    return pool


def update_pool(ctx, cluster: dict, name: str) -> None:
    _require(cluster, "pools", "Connection pooling is")
    old = _pool(cluster, name)
    pool = _pool_fields(cluster, ctx.json, name)
    pools = [pool if p is old else p for p in cluster["_pools"]]
    ctx.backends.databases.set_pools(cluster, pools)
    cluster["_pools"] = pools


def delete_pool(ctx, cluster: dict, name: str) -> None:
    _require(cluster, "pools", "Connection pooling is")
    old = _pool(cluster, name)
    pools = [p for p in cluster["_pools"] if p is not old]
    ctx.backends.databases.set_pools(cluster, pools)
    cluster["_pools"] = pools


# -- settings ----------------------------------------------------------------------
def set_maintenance(cluster: dict, body: dict) -> None:
    day, hour = str(body.get("day", "")).lower(), str(body.get("hour", ""))
    if day not in DAYS:
        raise unprocessable(
            f"Maintenance day '{body.get('day')}' is invalid: use a day of the week ({', '.join(DAYS)})."
        )
    match = HOUR.fullmatch(hour)
    if not match:
        raise unprocessable(f"Maintenance hour '{hour}' is invalid: use HH:MM (24-hour, UTC).")
    hh, mm, ss = match.groups()
    cluster["maintenance_window"].update(day=day, hour=f"{hh}:{mm}:{ss or '00'}")
    _event(cluster, "cluster_update")


def patch_config(ctx, cluster: dict) -> None:
    config = ctx.json.get("config")
    if not isinstance(config, dict) or not config:
        raise unprocessable("config must be an object naming the parameters to change.")
    merged = {**cluster["_config"], **config}
    ctx.backends.databases.set_config(cluster, {**_engine_of(cluster).config, **merged})
    cluster["_config"] = merged
    _event(cluster, "cluster_update")


def set_firewall(ctx, cluster: dict) -> None:
    body = ctx.json
    if "rules" not in body:
        raise unprocessable("rules is required (an empty list admits every source).")
    rules = _rules(ctx, body["rules"], cluster["id"], cluster["rules"])
    ctx.backends.databases.set_trusted_sources(cluster, rules)
    cluster["rules"] = rules


# -- routes ------------------------------------------------------------------------
def register(api):
    base = "/v2/databases/<cluster_id>"

    @api.route("/v2/databases/options", methods=["GET"])
    def list_options(ctx):
        return 200, options()

    @api.route("/v2/databases", methods=["GET"])
    def list_clusters(ctx):
        clusters = ctx.store.all(TABLE)
        tag = ctx.query.get("tag_name")
        if tag:
            clusters = [c for c in clusters if tag in (c["tags"] or [])]
        return 200, {"databases": [cluster_view(ctx.store, c) for c in clusters]}

    @api.route("/v2/databases", methods=["POST"])
    def create(ctx):
        return 201, {"database": cluster_view(ctx.store, create_cluster(ctx))}

    @api.route(base, methods=["GET"])
    def get_cluster(ctx, cluster_id):
        return 200, {"database": cluster_view(ctx.store, find_cluster(ctx, cluster_id))}

    @api.route(base, methods=["DELETE"])
    def destroy_cluster(ctx, cluster_id):
        cluster = find_cluster(ctx, cluster_id)
        ctx.backends.databases.delete_cluster(cluster)
        ctx.store.delete(TABLE, cluster_id)
        return 204, None

    @api.route(f"{base}/resize", methods=["PUT"])
    def resize(ctx, cluster_id):
        resize_cluster(ctx, find_cluster(ctx, cluster_id))
        return 202, None

    @api.route(f"{base}/ca", methods=["GET"])
    def get_ca(ctx, cluster_id):
        pem = ctx.backends.databases.ca_certificate(find_cluster(ctx, cluster_id))
        return 200, {"ca": {"certificate": base64.b64encode(pem.encode()).decode()}}

    @api.route(f"{base}/backups", methods=["GET"])
    def list_backups(ctx, cluster_id):
        cluster = find_cluster(ctx, cluster_id)
        _require(cluster, "backups", "Backups are")
        body = {"backups": _backups(cluster)}
        if cluster["_online_at"]:
            first = cluster["_online_at"]
            body["scheduled_backup_time"] = {
                "backup_hour": int(first[11:13]),
                "backup_minute": int(first[14:16]),
                "backup_interval_hours": 24,
            }
        return 200, body

    @api.route(f"{base}/events", methods=["GET"])
    def list_events(ctx, cluster_id):
        return 200, {"events": list(find_cluster(ctx, cluster_id)["_events"])}

    @api.route(f"{base}/config", methods=["GET"])
    def get_config(ctx, cluster_id):
        cluster = find_cluster(ctx, cluster_id)
        return 200, {"config": {**_engine_of(cluster).config, **cluster["_config"]}}

    @api.route(f"{base}/config", methods=["PATCH"])
    def update_config(ctx, cluster_id):
        patch_config(ctx, find_cluster(ctx, cluster_id))
        return 200, None

    @api.route(f"{base}/maintenance", methods=["PUT"])
    def update_maintenance(ctx, cluster_id):
        set_maintenance(find_cluster(ctx, cluster_id), ctx.json)
        return 204, None

    @api.route(f"{base}/firewall", methods=["GET"])
    def list_firewall(ctx, cluster_id):
        return 200, {"rules": find_cluster(ctx, cluster_id)["rules"]}

    @api.route(f"{base}/firewall", methods=["PUT"])
    def update_firewall(ctx, cluster_id):
        set_firewall(ctx, find_cluster(ctx, cluster_id))
        return 204, None

    @api.route(f"{base}/users", methods=["GET"])
    def list_users(ctx, cluster_id):
        cluster = find_cluster(ctx, cluster_id)
        _require(cluster, "users", "User management is")
        return 200, {"users": cluster["users"]}

    @api.route(f"{base}/users", methods=["POST"])
    def create_user(ctx, cluster_id):
        return 201, {"user": add_user(ctx, find_cluster(ctx, cluster_id))}

    @api.route(f"{base}/users/<username>", methods=["GET"])
    def get_user(ctx, cluster_id, username):
        cluster = find_cluster(ctx, cluster_id)
        _require(cluster, "users", "User management is")
        return 200, {"user": _user(cluster, username)}

    @api.route(f"{base}/users/<username>", methods=["PUT"])
    def put_user(ctx, cluster_id, username):
        # 201, as the spec documents for this update.
        return 201, {"user": update_user(ctx, find_cluster(ctx, cluster_id), username)}

    @api.route(f"{base}/users/<username>", methods=["DELETE"])
    def remove_user(ctx, cluster_id, username):
        delete_user(ctx, find_cluster(ctx, cluster_id), username)
        return 204, None

    @api.route(f"{base}/users/<username>/reset_auth", methods=["POST"])
    def reset_user_auth(ctx, cluster_id, username):
        return 200, {"user": reset_auth(ctx, find_cluster(ctx, cluster_id), username)}

    @api.route(f"{base}/dbs", methods=["GET"])
    def list_dbs(ctx, cluster_id):
        cluster = find_cluster(ctx, cluster_id)
        _require(cluster, "dbs", "Database management is")
        return 200, {"dbs": [{"name": n} for n in cluster["db_names"]]}

    @api.route(f"{base}/dbs", methods=["POST"])
    def create_db(ctx, cluster_id):
        return 201, {"db": {"name": add_db(ctx, find_cluster(ctx, cluster_id))}}

    @api.route(f"{base}/dbs/<database_name>", methods=["GET"])
    def get_db(ctx, cluster_id, database_name):
        return 200, {"db": {"name": find_db(find_cluster(ctx, cluster_id), database_name)}}

    @api.route(f"{base}/dbs/<database_name>", methods=["DELETE"])
    def remove_db(ctx, cluster_id, database_name):
        delete_db(ctx, find_cluster(ctx, cluster_id), database_name)
        return 204, None

    @api.route(f"{base}/pools", methods=["GET"])
    def list_pools(ctx, cluster_id):
        cluster = find_cluster(ctx, cluster_id)
        _require(cluster, "pools", "Connection pooling is")
        return 200, {"pools": [_pool_view(cluster, p) for p in cluster["_pools"]]}

    @api.route(f"{base}/pools", methods=["POST"])
    def create_pool(ctx, cluster_id):
        cluster = find_cluster(ctx, cluster_id)
        return 201, {"pool": _pool_view(cluster, add_pool(ctx, cluster))}

    @api.route(f"{base}/pools/<pool_name>", methods=["GET"])
    def get_pool(ctx, cluster_id, pool_name):
        cluster = find_cluster(ctx, cluster_id)
        _require(cluster, "pools", "Connection pooling is")
        return 200, {"pool": _pool_view(cluster, _pool(cluster, pool_name))}

    @api.route(f"{base}/pools/<pool_name>", methods=["PUT"])
    def put_pool(ctx, cluster_id, pool_name):
        update_pool(ctx, find_cluster(ctx, cluster_id), pool_name)
        return 204, None

    @api.route(f"{base}/pools/<pool_name>", methods=["DELETE"])
    def remove_pool(ctx, cluster_id, pool_name):
        delete_pool(ctx, find_cluster(ctx, cluster_id), pool_name)
        return 204, None
