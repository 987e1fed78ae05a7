# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the managed-database modules share: finding a cluster by id or name, engine features,
connection-pool limits and connection strings that verify the server's certificate.

`GET /v2/databases` is not paginated (the API answers every cluster at once), so a cluster is
found with one read whether it is named by id or by name. The child modules (`database_user`,
`database_db`, `database_pool`, `database_firewall`) subclass `ClusterChildModule`: an extra
`cluster` option and `self.cluster`, or a clear failure naming the cluster.
"""

from __future__ import annotations

import re

from ._base import DOModule
from ._resources import is_uuid

# What DigitalOcean offers per engine (the API answers 422 otherwise; checking first gives a clearer failure).
USER_ENGINES = ("pg", "mysql", "advanced_pg", "advanced_mysql", "mongodb", "kafka", "opensearch")
DB_ENGINES = ("pg", "mysql", "advanced_pg", "advanced_mysql", "mongodb")
POOL_ENGINES = ("pg",)
PG_ENGINES = ("pg", "advanced_pg")
MYSQL_ENGINES = ("mysql", "advanced_mysql")

FEATURES = {
    "users": (USER_ENGINES, "user management"),
    "dbs": (DB_ENGINES, "database management"),
    "pools": (POOL_ENGINES, "connection pools"),
}

# PgBouncer: 25 backend connections per GiB of the primary node's RAM, 3 reserved for maintenance.
POOL_CONNECTIONS_PER_GIB = 25
POOL_RESERVED = 3
RAM_RE = re.compile(r"-(\d+)gb\b")


def list_clusters(client):
    return client.request("databases.list_clusters").get("databases") or []


def cluster_label(cluster):
    return f"database cluster {cluster['name']} ({cluster['id']})"


def find_cluster(module, clusters, ref, engine=None, region=None):
    """The cluster whose id or name is `ref` (narrowed by engine/region); None when none; fail when two match."""
    if is_uuid(ref):
        by_id = [c for c in clusters if c["id"] == ref]
        if by_id:
            return by_id[0]
    matches = [
        c
        for c in clusters
        if c["name"] == ref and (engine is None or c["engine"] == engine) and (region is None or c["region"] == region)
    ]
    if len(matches) > 1:
        module.fail_json(
            msg=f"database cluster name {ref!r} is ambiguous: {len(matches)} match (ids {', '.join(c['id'] for c in matches)}); use its id"
        )
    return matches[0] if matches else None


def pool_limit(size):
    """Backend connections all pools of a cluster of `size` may use together; None when unknown."""
    match = RAM_RE.search(size or "")
    if not match:
        return None
    return POOL_CONNECTIONS_PER_GIB * int(match.group(1)) - POOL_RESERVED


def verified_uri(uri, engine, ca_path=None):
    """`uri` made to verify the server certificate and its host name (libpq verify-full, MySQL VERIFY_IDENTITY)."""
    if not uri:
        return uri
    base, _sep, query = uri.partition("?")
    params = [p for p in query.split("&") if p]
    if engine in PG_ENGINES:
        params = [p for p in params if not p.startswith(("sslmode=", "sslrootcert="))]
        params.append("sslmode=verify-full")
        if ca_path:
            params.append(f"sslrootcert={ca_path}")
    elif engine in MYSQL_ENGINES:
        params = [p for p in params if not p.lower().startswith(("ssl-mode=", "ssl-ca="))]
        params.append("ssl-mode=VERIFY_IDENTITY")
        if ca_path:
            params.append(f"ssl-ca={ca_path}")
    else:  # rediss:// and others verify by default; nothing to add
        return uri
    return base + "?" + "&".join(params)


class ClusterChildModule(DOModule):
    """A module managing something inside a cluster (users, databases, pools, trusted sources)."""

    feature = None  # "users", "dbs" or "pools": what the cluster's engine must offer

    def __init__(self, argument_spec, **kwargs):
        spec = {"cluster": {"type": "str", "required": True}}
        spec.update(argument_spec)
        super().__init__(spec, **kwargs)
        self.cluster = None

    def resolve_cluster(self):
        """`self.cluster`, or None when it does not exist and that is fine (deleting, or check mode)."""
        ref = self.params["cluster"]
        cluster = find_cluster(self.module, list_clusters(self.client), ref)
        if cluster is None:
            if self.params.get("state") == "absent":
                return None
            if self.check_mode:
                self.module.warn(
                    f"database cluster {ref!r} does not exist (yet); reporting what a run after its creation would do"
                )
                return None
            self.module.fail_json(msg=f"database cluster {ref!r} not found (give its id or name)")
        if self.feature and cluster["engine"] not in FEATURES[self.feature][0]:
            self.module.fail_json(
                msg=f"{cluster_label(cluster)} is a {cluster['engine']} cluster, which has no {FEATURES[self.feature][1]}"
            )
        self.cluster = cluster
        return cluster
