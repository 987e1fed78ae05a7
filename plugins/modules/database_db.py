#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_db
short_description: Manage the databases inside a DigitalOcean managed database cluster
version_added: 0.1.0
description:
  - Makes a database exist (or not) in a PostgreSQL or MySQL cluster named by id or name.
  - Deleting a database a connection pool uses fails with the API's message; delete the pool first.
  - In check mode a cluster that does not exist yet (created earlier in the same play) is reported as a change.
options:
  cluster:
    description: The cluster, by id or name.
    type: str
    required: true
  name:
    description: The database's name (up to 63 letters, digits, V(_), V(.) and V(-), starting with a letter or V(_)).
    type: str
    required: true
  state:
    description: Whether the database should exist. V(absent) drops it with its data.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: The application's database
  seaworthy.digitalocean.database_db:
    cluster: freshtrack-production-db
    name: freshtrack
"""

RETURN = r"""
db:
  description: The database as the API returns it (its C(name)); empty when absent.
  returned: always
  type: dict
  sample:
    name: freshtrack
"""

import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._databases import (
    ClusterChildModule,
    cluster_label,
)

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$")
RESERVED = {"postgres", "template0", "template1", "_dodb", "mysql", "sys", "information_schema", "performance_schema"}


class DatabaseDbModule(ClusterChildModule):
    resource_key = "db"
    feature = "dbs"

    def __init__(self):
        super().__init__(
            {
                "name": {"type": "str", "required": True},
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            }
        )

    def run(self):
        name = self.params["name"]
        if not NAME_RE.match(name):
            self.module.fail_json(
                msg=f"database name {name!r} is invalid: up to 63 letters, digits, '_', '.' and '-', starting with a letter or '_'"
            )
        if name in RESERVED and self.params["state"] == "present":
            self.module.fail_json(msg=f"database name {name!r} is reserved by the engine")
        cluster = self.resolve_cluster()
        db = (self.client.fetch("databases.get", cluster["id"], name) or {}).get("db") if cluster else None

        if self.params["state"] == "absent":
            self.diff(db, None)
            if db and not self.check_mode:
                self.client.request("databases.delete", cluster["id"], name)
            return self.exit({})
        if db:
            self.diff(db, db)
            return self.exit(db)
        planned = {"name": name}
        self.diff(None, planned)
        if self.check_mode:
            return self.exit(planned)
        created = self.create_once(
            lambda: self.client.request("databases.add", cluster["id"], {"name": name}, idempotent=False)["db"],
            lambda: (self.client.fetch("databases.get", cluster["id"], name) or {}).get("db"),
            f"database {name!r} in {cluster_label(cluster)}",
        )
        return self.exit(created)


def main():
    DatabaseDbModule().execute()


if __name__ == "__main__":
    main()
