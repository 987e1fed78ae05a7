#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_firewall
short_description: Manage the trusted sources of a DigitalOcean managed database cluster
version_added: 0.1.0
description:
  - Declares which droplets, tags, IP addresses, App Platform apps and Kubernetes clusters may connect to a
    cluster (DigitalOcean's "trusted sources", the cluster firewall).
  - The declared sources are a set. Order and duplicates do not matter; the rules are compared by type and
    value, and are written in one call only when the set differs. With O(purge=true) (default) sources not
    declared are removed; with O(purge=false) they are kept.
  - V(state=absent) removes the declared sources, or every source when none is declared.
  - Beware that a cluster with no trusted sources admits connections from anywhere (DigitalOcean's rule);
    declaring an empty set with V(state=present) therefore fails, use V(state=absent) to open the cluster on purpose.
  - Droplets are given by id or name (names must be unique in the account). Addresses must be IPv4
    addresses or CIDR blocks; DigitalOcean does not accept IPv6 trusted sources.
  - In check mode a cluster that does not exist yet (created earlier in the same play) is reported as a change.
options:
  cluster:
    description: The cluster, by id or name.
    type: str
    required: true
  state:
    description: Whether the declared sources should be trusted.
    type: str
    choices: [present, absent]
    default: present
  droplets:
    description: Droplets (ids or names) that may connect.
    type: list
    elements: str
  tags:
    description: Droplets and Kubernetes nodes carrying any of these tags may connect.
    type: list
    elements: str
  ip_addresses:
    description: IPv4 addresses or CIDR blocks that may connect.
    type: list
    elements: str
  apps:
    description: App Platform apps (UUIDs) that may connect.
    type: list
    elements: str
  kubernetes_clusters:
    description: Kubernetes clusters (UUIDs) whose nodes may connect.
    type: list
    elements: str
  purge:
    description: With V(state=present), remove trusted sources that are not declared.
    type: bool
    default: true
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: Only the application droplets may reach the database
  seaworthy.digitalocean.database_firewall:
    cluster: freshtrack-production-db
    tags: [freshtrack-production-web]

- name: And the operator's office while migrating
  seaworthy.digitalocean.database_firewall:
    cluster: freshtrack-production-db
    ip_addresses: [203.0.113.7]
    purge: false

- name: Stop trusting the office again
  seaworthy.digitalocean.database_firewall:
    cluster: freshtrack-production-db
    ip_addresses: [203.0.113.7]
    state: absent
"""

RETURN = r"""
rules:
  description: The cluster's trusted sources as the API returns them (C(uuid), C(type), C(value), C(created_at)).
  returned: always
  type: list
  elements: dict
  sample:
    - uuid: 79f26d28-ea8a-41f2-8ad8-8cfcdd020095
      cluster_uuid: 9cc10173-e9ea-4176-9dbc-a4cee4c4ff30
      type: droplet
      value: "163973392"
      created_at: "2025-03-13T19:20:47Z"
"""

import ipaddress
import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._databases import (
    ClusterChildModule,
    cluster_label,
)
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._resources import is_uuid

TAG_RE = re.compile(r"^[a-zA-Z0-9_\-:]{1,255}$")
KINDS = (
    ("droplets", "droplet"),
    ("tags", "tag"),
    ("ip_addresses", "ip_addr"),
    ("apps", "app"),
    ("kubernetes_clusters", "k8s"),
)


def canonical(kind, value):
    """One spelling per source: `10.0.0.7/24` is `10.0.0.0/24`, `203.0.113.7/32` is `203.0.113.7`."""
    value = str(value).strip()
    if kind == "ip_addr":
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return value
        return str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)
    return value


def view(rules):
    """Trusted sources grouped by type, sorted: the order DigitalOcean keeps them in does not matter."""
    grouped = {}
    for kind, value in sorted({(r["type"], canonical(r["type"], r["value"])) for r in rules or []}):
        grouped.setdefault(kind, []).append(value)
    return grouped


class DatabaseFirewallModule(ClusterChildModule):
    resource_key = "rules"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "droplets": {"type": "list", "elements": "str"},
                "tags": {"type": "list", "elements": "str"},
                "ip_addresses": {"type": "list", "elements": "str"},
                "apps": {"type": "list", "elements": "str"},
                "kubernetes_clusters": {"type": "list", "elements": "str"},
                "purge": {"type": "bool", "default": True},
            }
        )

    # -- the declared set ------------------------------------------------------
    def normalised(self, kind, value):
        value = str(value).strip()
        if kind == "ip_addr":
            try:
                network = ipaddress.ip_network(value, strict=False)
            except ValueError:
                self.module.fail_json(msg=f"ip_addresses: {value!r} is not an IPv4 address or CIDR block")
            if network.version != 4:
                self.module.fail_json(
                    msg=f"ip_addresses: {value!r} is IPv6; DigitalOcean only accepts IPv4 trusted sources"
                )
            return canonical(kind, value)
        if kind == "tag" and not TAG_RE.match(value):
            self.module.fail_json(msg=f"tags: {value!r} is not a valid tag name (letters, digits, ':', '-' and '_')")
        if kind in ("app", "k8s") and not is_uuid(value):
            option = "apps" if kind == "app" else "kubernetes_clusters"
            self.module.fail_json(msg=f"{option}: {value!r} is not a UUID")
        return value

    def declared(self):
        """(type, value) pairs declared, in option order, droplet names resolved to ids; all validated first."""
        others = [(kind, self.normalised(kind, v)) for option, kind in KINDS[1:] for v in self.params[option] or []]
        refs = [str(r).strip() for r in self.params["droplets"] or []]
        droplets = self.client.list_all("droplets.list", "droplets") if any(not r.isdigit() for r in refs) else []
        pairs = []
        for ref in refs:
            match = None if ref.isdigit() else self.unique(droplets, "droplet", name=ref)
            if not ref.isdigit() and match is None:
                self.module.fail_json(msg=f"droplets: no droplet named {ref!r}")
            pairs.append(("droplet", ref if ref.isdigit() else str(match["id"])))
        return list(dict.fromkeys(pairs + others))

    # -- main -------------------------------------------------------------------
    def run(self):
        state = self.params["state"]
        wanted = self.declared()
        if state == "present" and not wanted:
            self.module.fail_json(
                msg="no trusted sources declared: a cluster without trusted sources admits every source; "
                "use state: absent to remove them all on purpose"
            )
        cluster = self.resolve_cluster()
        current = (
            (self.client.request("databases.list_firewall_rules", cluster["id"]).get("rules") or []) if cluster else []
        )
        keys = {(r["type"], canonical(r["type"], r["value"])): r for r in current}
        if state == "absent":
            target = [k for k in keys if k not in wanted] if wanted else []
        elif self.params["purge"]:
            target = wanted
        else:
            target = list(keys) + [k for k in wanted if k not in keys]
        rules = []
        for kind, value in target:
            rule = {"type": kind, "value": value}
            description = keys.get((kind, value), {}).get("description")
            if description:  # a kept rule keeps what it says
                rule["description"] = description
            rules.append(rule)
        self.diff(view(current), view(rules))
        if self.check_mode or not self.changed or cluster is None:
            return self.exit(current if not self.changed else rules)
        if state == "absent" and not rules:
            self.module.warn(
                f"{cluster_label(cluster)} has no trusted sources left: it admits connections from anywhere"
            )
        self.client.request("databases.update_firewall_rules", cluster["id"], {"rules": rules})
        return self.exit(self.client.request("databases.list_firewall_rules", cluster["id"]).get("rules") or [])


def main():
    DatabaseFirewallModule().execute()


if __name__ == "__main__":
    main()
