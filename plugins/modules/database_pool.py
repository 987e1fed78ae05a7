#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_pool
short_description: Manage PgBouncer connection pools of a DigitalOcean managed PostgreSQL cluster
version_added: 0.1.0
description:
  - Makes a connection pool exist (or not) in a PostgreSQL cluster named by id or name, and updates its
    mode, size, database and user in place.
  - All pools of a cluster share 25 backend connections per GiB of the primary node's RAM, less 3 kept for
    maintenance (a 2 GiB node allows 47). A pool that would not fit fails before any write, naming the
    connections left.
  - The pool's connection details (in RV(pool)) hold the user's password; use M(seaworthy.digitalocean.database_cluster_info)
    for connection strings that verify the server certificate.
  - In check mode a cluster that does not exist yet (created earlier in the same play) is reported as a change.
options:
  cluster:
    description: The cluster, by id or name.
    type: str
    required: true
  name:
    description: The pool's name (3 to 60 letters, digits, V(_) and V(-)); clients use it as the database name.
    type: str
    required: true
  state:
    description: Whether the pool should exist.
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - PgBouncer pooling mode. V(transaction) (the default at creation) suits web applications.
      - Kept as it is on an existing pool when omitted.
    type: str
    choices: [session, transaction, statement]
  size:
    description: Backend connections the pool holds; needed to create, kept as it is when omitted.
    type: int
  db:
    description: The database the pool connects to; needed to create, kept as it is when omitted.
    type: str
  user:
    description:
      - The user the pool connects as. Kept as it is when omitted; an empty string makes the pool connect
        as whichever user the client logs in as.
    type: str
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: FreshTrack's transaction pool
  seaworthy.digitalocean.database_pool:
    cluster: freshtrack-production-db
    name: freshtrack-pool
    mode: transaction
    size: 20
    db: freshtrack
    user: freshtrack
  register: pool
  no_log: true
"""

RETURN = r"""
pool:
  description:
    - The pool as the API returns it (C(name), C(mode), C(size), C(db), C(user) and its C(connection),
      C(private_connection) details with the password); empty when absent.
  returned: always
  type: dict
  sample:
    name: freshtrack-pool
    mode: transaction
    size: 20
    db: freshtrack
    user: freshtrack
"""

import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._databases import (
    ClusterChildModule,
    cluster_label,
    pool_limit,
)

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{3,60}$")


def view(pool):
    """What --diff shows of a pool: its settings, not its connection details."""
    if not pool:
        return {}
    return {k: pool.get(k) for k in ("name", "mode", "size", "db", "user")}


class DatabasePoolModule(ClusterChildModule):
    resource_key = "pool"
    feature = "pools"

    def __init__(self):
        super().__init__(
            {
                "name": {"type": "str", "required": True},
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "mode": {"type": "str", "choices": ["session", "transaction", "statement"]},
                "size": {"type": "int"},
                "db": {"type": "str"},
                "user": {"type": "str"},
            }
        )

    def validate(self):
        name, size = self.params["name"], self.params["size"]
        if not NAME_RE.match(name):
            self.module.fail_json(msg=f"pool name {name!r} is invalid: use 3 to 60 letters, digits, '_' and '-'")
        if size is not None and size < 1:
            self.module.fail_json(msg=f"pool {name!r}: size must be at least 1, got {size}")

    def check_fits(self, cluster, pools, wanted):
        """Fail before any write when the pool would take more connections than the cluster's size allows."""
        limit = pool_limit(cluster["size"])
        if limit is None:
            return
        used = sum(p["size"] for p in pools if p["name"] != wanted["name"])
        if used + wanted["size"] > limit:
            self.module.fail_json(
                msg=(
                    f"pool {wanted['name']!r} of size {wanted['size']} does not fit in {cluster_label(cluster)}: "
                    f"size {cluster['size']} allows {limit} backend connections across all pools (25 per GiB of RAM, "
                    f"3 reserved), other pools use {used}, so at most {max(limit - used, 0)} are left"
                )
            )

    def check_references(self, cluster, wanted):
        """The database and user must exist (not checked in check mode: an earlier task may create them)."""
        if self.check_mode:
            return
        if wanted["db"] not in (cluster.get("db_names") or []):
            self.module.fail_json(
                msg=f"pool {wanted['name']!r}: database {wanted['db']!r} does not exist in {cluster_label(cluster)}"
            )
        users = [u["name"] for u in cluster.get("users") or []]
        if wanted.get("user") and wanted["user"] not in users:
            self.module.fail_json(
                msg=f"pool {wanted['name']!r}: user {wanted['user']!r} does not exist in {cluster_label(cluster)}"
            )

    def run(self):
        self.validate()
        name = self.params["name"]
        cluster = self.resolve_cluster()
        pools = (
            (self.client.request("databases.list_connection_pools", cluster["id"]).get("pools") or [])
            if cluster
            else []
        )
        current = next((p for p in pools if p["name"] == name), None)

        if self.params["state"] == "absent":
            self.diff(view(current), None)
            if current and not self.check_mode:
                self.client.request("databases.delete_connection_pool", cluster["id"], name)
            return self.exit({})

        user = self.params["user"]
        if current is None:
            missing = [k for k in ("size", "db") if self.params[k] is None]
            if missing:
                self.module.fail_json(msg=f"creating pool {name!r} needs {', '.join(missing)}")
            wanted = {
                "name": name,
                "mode": self.params["mode"] or "transaction",
                "size": self.params["size"],
                "db": self.params["db"],
                "user": user or None,
            }
        else:
            wanted = {
                "name": name,
                "mode": self.params["mode"] or current["mode"],
                "size": self.params["size"] if self.params["size"] is not None else current["size"],
                "db": self.params["db"] or current["db"],
                "user": current.get("user") if user is None else (user or None),
            }
        if cluster:
            self.check_fits(cluster, pools, wanted)
        self.diff(view(current), wanted)
        if self.check_mode or not self.changed:
            return self.exit(current or wanted)
        self.check_references(cluster, wanted)
        body = {k: wanted[k] for k in ("mode", "size", "db")}
        if wanted["user"]:
            body["user"] = wanted["user"]
        if current is None:
            created = self.create_once(
                lambda: self.client.request(
                    "databases.add_connection_pool", cluster["id"], dict(body, name=name), idempotent=False
                )["pool"],
                lambda: (self.client.fetch("databases.get_connection_pool", cluster["id"], name) or {}).get("pool"),
                f"connection pool {name!r} in {cluster_label(cluster)}",
            )
            return self.exit(created)
        self.client.request("databases.update_connection_pool", cluster["id"], name, body)
        return self.exit(self.client.request("databases.get_connection_pool", cluster["id"], name)["pool"])


def main():
    DatabasePoolModule().execute()


if __name__ == "__main__":
    main()
