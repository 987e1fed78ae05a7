#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_cluster
short_description: Create, resize, tag and delete DigitalOcean managed database clusters
version_added: 0.1.0
description:
  - Makes a managed PostgreSQL, MySQL or Valkey cluster exist as declared and keeps it there.
  - Identity is O(id) when given, else O(name) (cluster names are unique in an account), narrowed by
    O(engine) and O(region) when given. A cluster of that name with another engine or region fails the
    task naming what differs. A create is never sent twice; after a 5xx or a timeout the module looks
    the cluster up before retrying.
  - An existing cluster is reconciled in its node size, node count and storage (one resize call), its tags
    (through the tag endpoints, only the difference) and its project. Engine, version, region and VPC
    cannot change in place; the module fails naming them.
  - Engine, version, region, size and node count are checked against C(GET /v2/databases/options) before
    a create or a resize, so a size the engine does not offer fails with the sizes it does, and nothing is created.
  - With O(wait=true) (default) it waits until the cluster is V(online), which takes DigitalOcean several
    minutes for a new cluster or a resize.
  - The returned cluster holds the primary user's password and connection URIs; register it with C(no_log)
    when the output is logged. They never appear in the C(--diff) output.
options:
  state:
    description: Whether the cluster should exist. V(absent) deletes it and all its data.
    type: str
    choices: [present, absent]
    default: present
  id:
    description: The cluster's id (UUID); identity then ignores O(name).
    type: str
  name:
    description: The cluster's name (3 to 63 lowercase letters, digits and dashes, starting with a letter).
    type: str
  engine:
    description: The database engine; needed to create.
    type: str
    choices: [pg, mysql, valkey]
  version:
    description: Engine major version (V(17) for PostgreSQL, V(8) for MySQL); the engine's default when omitted at creation.
    type: str
  size:
    description: Node size slug (V(db-s-1vcpu-2gb)); needed to create, reconciled by a resize.
    type: str
  num_nodes:
    description: Number of nodes, the primary plus standbys (1 to 3); 1 at creation when omitted, reconciled by a resize.
    type: int
  storage_size_mib:
    description:
      - Total disk in MiB, beyond what O(size) includes, in steps of 10 GiB. Grows with a resize; it cannot shrink.
    type: int
  region:
    description: Region slug (V(nyc3)); needed to create.
    type: str
  private_network:
    description: The VPC (id or name, in O(region)) the cluster lives in; the region's default VPC when omitted.
    type: str
    aliases: [vpc]
  tags:
    description: Tags the cluster carries; created as needed.
    type: list
    elements: str
  purge_tags:
    description: Remove tags not listed in O(tags) (when O(tags) is given).
    type: bool
    default: true
  project:
    description: Project (id or name) the cluster belongs to.
    type: str
  wait_timeout:
    description:
      - How many seconds to wait for the cluster to be V(online) when O(wait=true).
      - New clusters take DigitalOcean 5 to 15 minutes.
    type: int
    default: 1200
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.wait
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: FreshTrack's managed PostgreSQL, in the application's VPC
  seaworthy.digitalocean.database_cluster:
    name: freshtrack-production-db
    engine: pg
    version: "17"
    size: db-s-1vcpu-2gb
    num_nodes: 1
    region: nyc3
    private_network: freshtrack-production-vpc
    tags: [freshtrack, production]
    project: FreshTrack Pro
  register: db
  no_log: true

- name: Add a standby node and a bigger size
  seaworthy.digitalocean.database_cluster:
    name: freshtrack-production-db
    size: db-s-2vcpu-4gb
    num_nodes: 2

- name: Remove a staging cluster
  seaworthy.digitalocean.database_cluster:
    name: freshtrack-staging-db
    state: absent
"""

RETURN = r"""
database:
  description:
    - The cluster as the API returns it (empty when absent), including C(connection), C(private_connection)
      and C(users) with the primary user's password.
  returned: always
  type: dict
  sample:
    id: 9cc10173-e9ea-4176-9dbc-a4cee4c4ff30
    name: freshtrack-production-db
    engine: pg
    version: "17"
    size: db-s-1vcpu-2gb
    num_nodes: 1
    region: nyc3
    status: online
    private_network_uuid: 5a4981aa-9653-4bd1-bef5-d6bff52042e4
    tags: [freshtrack, production]
"""

import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._databases import (
    cluster_label,
    find_cluster,
    list_clusters,
)
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._resources import (
    ensure_in_project,
    find_project,
    reconcile_tags,
    resolve_vpc,
)

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")


def view(cluster):
    """What --diff shows of a cluster: the declared attributes, never credentials."""
    if not cluster:
        return {}
    return {
        "name": cluster.get("name"),
        "engine": cluster.get("engine"),
        "version": cluster.get("version"),
        "region": cluster.get("region"),
        "size": cluster.get("size"),
        "num_nodes": cluster.get("num_nodes"),
        "storage_size_mib": cluster.get("storage_size_mib"),
        "private_network_uuid": cluster.get("private_network_uuid"),
        "tags": sorted(cluster.get("tags") or []),
        "project_id": cluster.get("project_id"),
    }


class DatabaseClusterModule(DOModule):
    resource_key = "database"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "id": {"type": "str"},
                "name": {"type": "str"},
                "engine": {"type": "str", "choices": ["pg", "mysql", "valkey"]},
                "version": {"type": "str"},
                "size": {"type": "str"},
                "num_nodes": {"type": "int"},
                "storage_size_mib": {"type": "int"},
                "region": {"type": "str"},
                "private_network": {"type": "str", "aliases": ["vpc"]},
                "tags": {"type": "list", "elements": "str"},
                "purge_tags": {"type": "bool", "default": True},
                "project": {"type": "str"},
            },
            wait=True,
            wait_timeout=1200,
            required_one_of=[("id", "name")],
        )

    # -- identity -------------------------------------------------------------
    def find(self, clusters):
        if self.params["id"]:
            return next((c for c in clusters if c["id"] == self.params["id"]), None)
        name = self.params["name"]
        found = find_cluster(self.module, clusters, name, self.params["engine"], self.params["region"])
        if found is None and self.params["state"] == "present":
            other = next((c for c in clusters if c["name"] == name), None)
            if other is not None:
                self.module.fail_json(
                    msg=(
                        f"{cluster_label(other)} is a {other['engine']} cluster in {other['region']}, not "
                        f"{self.params['engine'] or other['engine']} in {self.params['region'] or other['region']}; "
                        "cluster names are unique in an account"
                    )
                )
        return found

    # -- input ------------------------------------------------------------------
    def check_offered(self, engine, version, region, size, num_nodes):
        """Fail clearly (before any write) when DigitalOcean does not offer this combination."""
        offered = (self.client.request("databases.list_options").get("options") or {}).get(engine)
        if offered is None:
            self.module.fail_json(msg=f"engine {engine!r} is not offered by DigitalOcean for new clusters")
        versions = [str(v) for v in offered.get("versions") or []]
        if version is not None and versions and str(version) not in versions:
            self.module.fail_json(
                msg=f"{engine} version {version!r} is not offered; available versions: {', '.join(versions)}"
            )
        regions = offered.get("regions") or []
        if region is not None and regions and region not in regions:
            self.module.fail_json(msg=f"{engine} clusters are not offered in region {region!r}")
        layouts = {layout["num_nodes"]: layout.get("sizes") or [] for layout in offered.get("layouts") or []}
        if layouts and num_nodes not in layouts:
            counts = ", ".join(str(n) for n in sorted(layouts))
            self.module.fail_json(
                msg=f"{engine} clusters cannot have {num_nodes} node(s); node counts offered: {counts}"
            )
        sizes = layouts.get(num_nodes) or []
        if sizes and size not in sizes:
            self.module.fail_json(
                msg=f"size {size!r} is not offered for {engine} clusters of {num_nodes} node(s); sizes offered: {', '.join(sizes)}"
            )

    # -- main -------------------------------------------------------------------
    def run(self):
        clusters = list_clusters(self.client)
        current = self.find(clusters)
        if self.params["state"] == "absent":
            self.diff(view(current), None)
            if current and not self.check_mode:
                self.client.request("databases.destroy_cluster", current["id"])
            return self.exit({})
        if current is None:
            if self.params["id"]:
                self.module.fail_json(msg=f"database cluster id {self.params['id']} does not exist")
            return self.create()
        return self.update(current)

    def wait_online(self, cluster):
        return self.client.wait_for(
            lambda: self.client.request("databases.get_cluster", cluster["id"])["database"],
            lambda c: c["status"] == "online",
            self.params["wait_timeout"],
            f"{cluster_label(cluster)} to be online",
            describe=lambda c: f"status {c['status']}",
        )

    def create(self):
        name, engine, region, size = (self.params[k] for k in ("name", "engine", "region", "size"))
        missing = [k for k in ("engine", "region", "size") if not self.params[k]]
        if missing:
            self.module.fail_json(msg=f"creating database cluster {name!r} needs {', '.join(missing)}")
        if not NAME_RE.match(name):
            self.module.fail_json(
                msg=f"database cluster name {name!r} is invalid: use 3 to 63 lowercase letters, digits and dashes, "
                "starting with a letter and not ending with a dash"
            )
        num_nodes = self.params["num_nodes"] or 1
        self.check_offered(engine, self.params["version"], region, size, num_nodes)
        vpc = resolve_vpc(self.client, self.module, self.params["private_network"], region)
        project = find_project(self.client, self.module, self.params["project"])
        body = {"name": name, "engine": engine, "region": region, "size": size, "num_nodes": num_nodes}
        if self.params["version"]:
            body["version"] = str(self.params["version"])
        if vpc:
            body["private_network_uuid"] = vpc["id"]
        if self.params["tags"]:
            body["tags"] = list(dict.fromkeys(self.params["tags"]))
        if project:
            body["project_id"] = project["id"]
        if self.params["storage_size_mib"]:
            body["storage_size_mib"] = self.params["storage_size_mib"]
        planned = dict(body, status="creating", tags=body.get("tags") or [])
        self.diff(None, view(planned))
        if self.check_mode:
            return self.exit(planned)
        created = self.create_once(
            lambda: self.client.request("databases.create_cluster", body, idempotent=False)["database"],
            lambda: find_cluster(self.module, list_clusters(self.client), name, engine, region),
            f"database cluster {name!r}",
        )
        if self.params["wait"]:
            created = self.wait_online(created)
        return self.exit(created)

    def immutable_differences(self, cluster):
        differences = []
        for key in ("engine", "region", "version"):
            wanted = self.params[key]
            if wanted is not None and str(wanted) != str(cluster.get(key)):
                differences.append(f"{key} {cluster.get(key)} -> {wanted}")
        if self.params["private_network"]:
            vpc = resolve_vpc(self.client, self.module, self.params["private_network"], cluster["region"])
            if vpc["id"] != cluster.get("private_network_uuid"):
                differences.append(f"private_network {cluster.get('private_network_uuid')} -> {vpc['id']}")
        return differences

    def update(self, cluster):
        label = cluster_label(cluster)
        differences = self.immutable_differences(cluster)
        if differences:
            self.module.fail_json(
                msg=f"{label} cannot change in place: {'; '.join(differences)}. Create a new cluster (or fork it from a backup) instead."
            )
        before = view(cluster)
        after = dict(before)

        size = self.params["size"] or cluster["size"]
        num_nodes = self.params["num_nodes"] or cluster["num_nodes"]
        storage = self.params["storage_size_mib"]
        if storage is not None and cluster.get("storage_size_mib") and storage < cluster["storage_size_mib"]:
            self.module.fail_json(
                msg=f"{label}: storage cannot shrink ({cluster['storage_size_mib']} MiB -> {storage} MiB requested)"
            )
        resize = (size, num_nodes) != (cluster["size"], cluster["num_nodes"]) or (
            storage is not None and storage != cluster.get("storage_size_mib")
        )
        project = find_project(self.client, self.module, self.params["project"])
        if resize:
            self.check_offered(cluster["engine"], None, None, size, num_nodes)
            after.update(size=size, num_nodes=num_nodes)
            if storage is not None:
                after["storage_size_mib"] = storage
        if self.params["tags"] is not None:
            after["tags"] = sorted(
                reconcile_tags(
                    self.client,
                    "database",
                    cluster["id"],
                    cluster.get("tags"),
                    self.params["tags"],
                    self.params["purge_tags"],
                    self.check_mode,
                )
            )
        if project is not None:
            ensure_in_project(self.client, project, f"do:dbaas:{cluster['id']}", self.check_mode)
            after["project_id"] = project["id"]
        self.diff(before, after)
        if self.check_mode or not self.changed:
            return self.exit(cluster)
        if resize:
            if cluster["status"] != "online":
                if not self.params["wait"]:
                    self.module.fail_json(
                        msg=f"{label} is {cluster['status']}; it can be resized once online (or set wait: true)"
                    )
                self.wait_online(cluster)
            body = {"size": size, "num_nodes": num_nodes}
            if storage is not None:
                body["storage_size_mib"] = storage
            self.client.request("databases.update_cluster_size", cluster["id"], body)
        fresh = self.client.request("databases.get_cluster", cluster["id"])["database"]
        if resize and self.params["wait"]:
            fresh = self.wait_online(fresh)
        return self.exit(fresh)


def main():
    DatabaseClusterModule().execute()


if __name__ == "__main__":
    main()
