#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_user
short_description: Manage the users of a DigitalOcean managed database cluster
version_added: 0.1.0
description:
  - Makes a database user exist (or not) in a cluster named by id or name. DigitalOcean generates the
    password; it is returned in RV(user) and never shown in C(--diff).
  - Reconciles PostgreSQL replication rights (O(pg_allow_replication), in place) and the MySQL
    authentication plugin (O(mysql_auth_plugin), which DigitalOcean changes by resetting the password).
    O(reset_password=true) generates a new password on every run.
  - The primary user (V(doadmin)) cannot be deleted. Valkey clusters have no user management.
  - In check mode a cluster that does not exist yet (created earlier in the same play) is reported as a change.
options:
  cluster:
    description: The cluster, by id or name.
    type: str
    required: true
  name:
    description: The user's name.
    type: str
    required: true
  state:
    description: Whether the user should exist.
    type: str
    choices: [present, absent]
    default: present
  pg_allow_replication:
    description: PostgreSQL only. Grant the user replication rights.
    type: bool
  mysql_auth_plugin:
    description: MySQL only. The authentication plugin; changing it on an existing user also resets its password.
    type: str
    choices: [caching_sha2_password, mysql_native_password]
  reset_password:
    description: Generate a new password for an existing user (reports a change on every run).
    type: bool
    default: false
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: The application's database user
  seaworthy.digitalocean.database_user:
    cluster: freshtrack-production-db
    name: freshtrack
  register: db_user
  no_log: true

- name: A MySQL user for a client that only speaks mysql_native_password
  seaworthy.digitalocean.database_user:
    cluster: teliporter-production-db
    name: legacy-reports
    mysql_auth_plugin: mysql_native_password
  no_log: true
"""

RETURN = r"""
user:
  description: The user as the API returns it (C(name), C(role), C(password), settings); empty when absent.
  returned: always
  type: dict
  sample:
    name: freshtrack
    role: normal
    password: AVNS_x0pT3gM9...
"""

import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._databases import (
    MYSQL_ENGINES,
    PG_ENGINES,
    ClusterChildModule,
    cluster_label,
)

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def view(user):
    """What --diff shows of a user: never its password."""
    if not user:
        return {}
    return {
        "name": user.get("name"),
        "role": user.get("role"),
        "mysql_auth_plugin": (user.get("mysql_settings") or {}).get("auth_plugin"),
        "pg_allow_replication": bool((user.get("settings") or {}).get("pg_allow_replication")),
    }


class DatabaseUserModule(ClusterChildModule):
    resource_key = "user"
    feature = "users"

    def __init__(self):
        super().__init__(
            {
                "name": {"type": "str", "required": True},
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "pg_allow_replication": {"type": "bool"},
                "mysql_auth_plugin": {"type": "str", "choices": ["caching_sha2_password", "mysql_native_password"]},
                "reset_password": {"type": "bool", "default": False, "no_log": False},
            }
        )

    def validate(self, cluster):
        name = self.params["name"]
        limit = 32 if cluster and cluster["engine"] in MYSQL_ENGINES else 63
        if not NAME_RE.match(name) or len(name) > limit:
            self.module.fail_json(
                msg=f"database user name {name!r} is invalid: up to {limit} letters, digits, '_', '.' and '-', "
                "starting with a letter or '_'"
            )
        if cluster is None:
            return
        if self.params["pg_allow_replication"] is not None and cluster["engine"] not in PG_ENGINES:
            self.module.fail_json(
                msg=f"pg_allow_replication applies to PostgreSQL; {cluster_label(cluster)} is {cluster['engine']}"
            )
        if self.params["mysql_auth_plugin"] and cluster["engine"] not in MYSQL_ENGINES:
            self.module.fail_json(
                msg=f"mysql_auth_plugin applies to MySQL; {cluster_label(cluster)} is {cluster['engine']}"
            )

    def planned(self, user):
        after = dict(view(user)) if user else {"name": self.params["name"], "role": "normal"}
        if self.params["mysql_auth_plugin"]:
            after["mysql_auth_plugin"] = self.params["mysql_auth_plugin"]
        elif not user:
            after["mysql_auth_plugin"] = None
        if self.params["pg_allow_replication"] is not None:
            after["pg_allow_replication"] = self.params["pg_allow_replication"]
        elif not user:
            after["pg_allow_replication"] = False
        return after

    def run(self):
        cluster = self.resolve_cluster()
        self.validate(cluster)
        name = self.params["name"]
        user = self.client.fetch("databases.get_user", cluster["id"], name) if cluster else None
        if user is not None:
            user = user["user"]

        if self.params["state"] == "absent":
            if user and user.get("role") == "primary":
                self.module.fail_json(
                    msg=f"{name!r} is the primary user of {cluster_label(cluster)} and cannot be deleted"
                )
            self.diff(view(user), None)
            if user and not self.check_mode:
                self.client.request("databases.delete_user", cluster["id"], name)
            return self.exit({})

        after = self.planned(user)
        if user is None:
            self.diff(None, after)
            if self.check_mode:
                return self.exit(after)
            body = {"name": name}
            if self.params["mysql_auth_plugin"]:
                body["mysql_settings"] = {"auth_plugin": self.params["mysql_auth_plugin"]}
            if self.params["pg_allow_replication"]:
                body["settings"] = {"pg_allow_replication": True}
            created = self.create_once(
                lambda: self.client.request("databases.add_user", cluster["id"], body, idempotent=False)["user"],
                lambda: (self.client.fetch("databases.get_user", cluster["id"], name) or {}).get("user"),
                f"user {name!r} in {cluster_label(cluster)}",
            )
            return self.exit(created)

        before = view(user)
        self.diff(before, after)
        reset = self.params["reset_password"]
        if reset:
            self.changed = True
        if self.check_mode or not self.changed:
            return self.exit(user)
        if after["pg_allow_replication"] != before["pg_allow_replication"]:
            user = self.client.request(
                "databases.update_user",
                cluster["id"],
                name,
                {"settings": {"pg_allow_replication": after["pg_allow_replication"]}},
            )["user"]
        if after["mysql_auth_plugin"] != before["mysql_auth_plugin"] or reset:
            body = {"mysql_settings": {"auth_plugin": after["mysql_auth_plugin"]}} if after["mysql_auth_plugin"] else {}
            user = self.client.request("databases.reset_auth", cluster["id"], name, body)["user"]
        return self.exit(self.client.request("databases.get_user", cluster["id"], name)["user"])


def main():
    DatabaseUserModule().execute()


if __name__ == "__main__":
    main()
