"""Database backing: the server behind a managed database cluster.

The API layer (resources/databases.py) owns the DigitalOcean view -- users,
databases, pools, trusted sources as JSON -- and calls the backend after every
change, so a real backing (issue 4: PostgreSQL/MariaDB containers) only has to
mirror what it is told. Host information is a dict:

    {"host", "private_host", "port", "pool_port"?, "standby_host"?, "standby_private_host"?}

`pool_port` is where the connection pooler (PgBouncer) answers; the standby
names are given for clusters of more than one node.
"""

from __future__ import annotations

import secrets

# Ports DigitalOcean's managed engines listen on (pools: PgBouncer on 25061).
ENGINE_PORTS = {"valkey": 25061, "redis": 25061, "mongodb": 27017, "kafka": 25073}
DEFAULT_PORT = 25060
POOL_PORT = 25061


class DatabaseBackend:
    """Interface; calls happen under the store lock."""

    def after_write(self, store) -> None:
        """Bring derived state in line after any API write (default: nothing to do)."""

    @staticmethod
    def new_password() -> str:
        """A password shaped like DigitalOcean's generated ones (AVNS_ prefix)."""
        return "AVNS_" + secrets.token_urlsafe(15)

    def create_cluster(
        self, cluster: dict, *, source: dict | None = None, backup_created_at: str | None = None
    ) -> dict | None:
        """Start making the cluster's server exist (returns at once) with the users
        (`cluster["users"]`, the primary first) and databases (`cluster["db_names"]`) it starts with.
        For a fork, `source` is the cluster whose backup taken at `backup_created_at` holds the data.

        Returns the host information when it is known before the server is up
        (DigitalOcean names the hosts at creation), else None.
        """
        raise NotImplementedError

    def poll_ready(self, cluster: dict) -> dict | None:
        """The host information once the server answers (after a create or a resize), else None."""
        raise NotImplementedError

    def ca_certificate(self, cluster: dict) -> str:
        """The PEM CA certificate that signs the cluster's server certificate."""
        raise NotImplementedError

    def ensure_user(
        self, cluster: dict, name: str, password: str, *, auth_plugin: str | None = None, replication: bool = False
    ) -> None:
        """Create the user or update its password/settings (MySQL auth plugin, PostgreSQL replication)."""

    def drop_user(self, cluster: dict, name: str) -> None:
        """Remove the user."""

    def ensure_db(self, cluster: dict, name: str) -> None:
        """Create the database."""

    def drop_db(self, cluster: dict, name: str) -> None:
        """Remove the database."""

    def set_pools(self, cluster: dict, pools: list[dict]) -> None:
        """Serve exactly these connection pools ({name, mode, size, db, user?})."""

    def set_trusted_sources(self, cluster: dict, rules: list[dict]) -> None:
        """Admit only these sources (an empty list admits all, as on DigitalOcean)."""

    def set_config(self, cluster: dict, config: dict) -> None:
        """Apply the engine configuration (the whole current set)."""

    def resize(self, cluster: dict) -> None:
        """Apply the cluster's (already recorded) size, node count and storage."""

    def delete_cluster(self, cluster: dict) -> None:
        """Remove the server and its data."""

    def reset(self) -> None:
        """Forget everything."""

    def close(self) -> None:
        """Release what was started."""


class MemoryDatabases(DatabaseBackend):
    """Nothing runs: invented host names in DigitalOcean's shape and a real (unused) CA PEM.

    `servers` mirrors what a real server would hold (users, databases, pools,
    trusted sources, configuration, size), so tests can check that every
    change made through the API reached the backend.
    """

    def __init__(self):
        self._ca: dict[str, str] = {}
        self.servers: dict[str, dict] = {}

    def reset(self) -> None:
        self._ca.clear()
        self.servers.clear()

    def _hosts(self, cluster: dict) -> dict:
        base = f"{cluster['name']}-do-user-{cluster['id'][:8]}-0.db.ondigitalocean.com"
        hosts = {
            "host": base,
            "private_host": f"private-{base}",
            "port": ENGINE_PORTS.get(cluster["engine"], DEFAULT_PORT),
        }
        if cluster["engine"] in ("pg", "advanced_pg"):
            hosts["pool_port"] = POOL_PORT
        if cluster["num_nodes"] > 1:
            hosts.update(standby_host=f"replica-{base}", standby_private_host=f"private-replica-{base}")
        return hosts

    def _server(self, cluster: dict) -> dict:
        # On demand: clusters restored from a state file have no mirror yet.
        return self.servers.setdefault(
            cluster["id"],
            {
                "users": {},
                "user_options": {},
                "dbs": set(),
                "pools": [],
                "trusted_sources": [],
                "config": {},
                "layout": (cluster["size"], cluster["num_nodes"], cluster["storage_size_mib"]),
            },
        )

    def create_cluster(self, cluster, *, source=None, backup_created_at=None):
        server = self._server(cluster)
        server["users"].update({u["name"]: u["password"] for u in cluster["users"]})
        server["dbs"].update(cluster["db_names"] or [])
        return self._hosts(cluster)

    def poll_ready(self, cluster):
        return self._hosts(cluster)

    def ca_certificate(self, cluster):
        if cluster["id"] not in self._ca:
            from ..tls import make_ca_pem

            self._ca[cluster["id"]] = make_ca_pem(f"{cluster['name']} CA")
        return self._ca[cluster["id"]]

    def ensure_user(self, cluster, name, password, *, auth_plugin=None, replication=False):
        server = self._server(cluster)
        server["users"][name] = password
        server["user_options"][name] = {"auth_plugin": auth_plugin, "replication": replication}

    def drop_user(self, cluster, name):
        server = self._server(cluster)
        server["users"].pop(name, None)
        server["user_options"].pop(name, None)

    def ensure_db(self, cluster, name):
        self._server(cluster)["dbs"].add(name)

    def drop_db(self, cluster, name):
        self._server(cluster)["dbs"].discard(name)

    def set_pools(self, cluster, pools):
        self._server(cluster)["pools"] = [dict(p) for p in pools]

    def set_trusted_sources(self, cluster, rules):
        self._server(cluster)["trusted_sources"] = [(r["type"], r["value"]) for r in rules]

    def set_config(self, cluster, config):
        self._server(cluster)["config"] = dict(config)

    def resize(self, cluster):
        self._server(cluster)["layout"] = (cluster["size"], cluster["num_nodes"], cluster["storage_size_mib"])

    def delete_cluster(self, cluster):
        self.servers.pop(cluster["id"], None)
        self._ca.pop(cluster["id"], None)
