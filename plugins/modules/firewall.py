#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: firewall
short_description: Manage DigitalOcean Cloud Firewalls, rule by rule
version_added: 0.1.0
description:
  - Makes a Cloud Firewall exist with the declared inbound and outbound rules, applied to the
    declared Droplets and tags, and keeps it so.
  - Identity is O(id) when given, else O(name) over every page of the account's firewalls.
    Two firewalls with the name fail the task with their ids. A create is never sent twice;
    after a 5xx or a timeout the module looks the firewall up before retrying.
  - Rules are compared as a set, whatever their order, after applying DigitalOcean's own
    normalisation to both sides - ports V(all), V(0) and V(1-65535) are the same, ICMP has no
    ports, the addresses, ids and tags of a rule are a set, an address is the network it names
    (V(1.2.3.4) is V(1.2.3.4/32)). V(0.0.0.0/0) alone covers IPv4 only; IPv6 needs V(::/0) too.
  - Only what differs is changed, through the narrow endpoints - the rules that differ are added
    (first, so a changed rule never leaves a gap) and removed, Droplets and tags are assigned and
    unassigned. Unrelated rules are never re-sent. A rename (only possible with O(id)) is one
    C(PUT) of the whole firewall.
  - Rules are validated before any call; a malformed rule fails the task naming the rule.
  - Tags the firewall or its rules name are created when missing, as the API requires them to exist.
options:
  state:
    description: Whether the firewall should exist.
    type: str
    choices: [present, absent]
    default: present
  id:
    description: The firewall's id; identity then ignores O(name), which renames it when different.
    type: str
  name:
    description:
      - The firewall's name. Required to create one. A letter or digit first, then letters,
        digits, V(.) or V(-).
    type: str
  inbound_rules:
    description:
      - The complete set of inbound rules. Rules not listed are removed.
      - Omitted, an existing firewall keeps its inbound rules, and a new one has none.
    type: list
    elements: dict
    suboptions:
      protocol:
        description: V(tcp), V(udp) or V(icmp).
        type: str
      ports:
        description:
          - A port (V(22) or 22), a range (V(8000-9000)), or V(all) (also written V(0)) for every port.
          - Required for V(tcp) and V(udp); ICMP has no ports (leave it out).
        type: raw
      sources:
        description: Where the traffic may come from; at least one entry.
        type: dict
        suboptions: &targets
          addresses:
            description:
              - IPv4/IPv6 addresses and CIDRs. V(0.0.0.0/0) and V(::/0) together mean anywhere.
              - An entry may hold several comma-separated addresses.
            type: list
            elements: str
          droplet_ids:
            description: Droplets by id.
            type: list
            elements: int
          droplets:
            description: Droplets by name (or id); a name must match exactly one Droplet.
            type: list
            elements: str
          tags:
            description: Droplets carrying these tags (created when missing).
            type: list
            elements: str
          load_balancer_uids:
            description: Load balancers by id.
            type: list
            elements: str
          kubernetes_ids:
            description: Kubernetes clusters by id.
            type: list
            elements: str
  outbound_rules:
    description:
      - The complete set of outbound rules. Rules not listed are removed.
      - Omitted, an existing firewall keeps its outbound rules, and a new one gets DigitalOcean's
        default - all TCP, all UDP and ICMP to V(0.0.0.0/0) and V(::/0). Give V([]) for none.
    type: list
    elements: dict
    suboptions:
      protocol:
        description: V(tcp), V(udp) or V(icmp).
        type: str
      ports:
        description:
          - A port (V(22) or 22), a range (V(8000-9000)), or V(all) (also written V(0)) for every port.
          - Required for V(tcp) and V(udp); ICMP has no ports (leave it out).
        type: raw
      destinations:
        description: Where the traffic may go; at least one entry.
        type: dict
        suboptions: *targets
  droplets:
    description:
      - The Droplets the firewall applies to, by id or name (exactly these; others are unassigned).
      - Omitted, the firewall's Droplets are left as they are.
    type: list
    elements: str
  tags:
    description:
      - The tags whose Droplets the firewall applies to (exactly these; created when missing).
      - Omitted, the firewall's tags are left as they are.
    type: list
    elements: str
notes:
  - In check mode a Droplet named in O(droplets) or in a rule that does not exist yet (because an
    earlier task would create it) is reported with a warning instead of failing.
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.wait
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: The web firewall of the deployment guides - SSH, HTTP, HTTPS in; everything out (the default)
  seaworthy.digitalocean.firewall:
    name: freshtrack-production-web
    inbound_rules:
      - protocol: tcp
        ports: 22
        sources:
          addresses: [0.0.0.0/0, "::/0"]
      - protocol: tcp
        ports: 80
        sources:
          addresses: [0.0.0.0/0, "::/0"]
      - protocol: tcp
        ports: 443
        sources:
          addresses: [0.0.0.0/0, "::/0"]
    tags: [freshtrack-production-web]
  register: web_firewall

- name: Only the office reaches SSH; the database only from the web Droplets
  seaworthy.digitalocean.firewall:
    name: malar-production-db
    inbound_rules:
      - protocol: tcp
        ports: 22
        sources:
          addresses: [203.0.113.0/24]
      - protocol: tcp
        ports: 5432
        sources:
          tags: [malar-production-web]
          droplets: [malar-production-worker-1]
      - protocol: icmp
        sources:
          addresses: [10.0.0.0/8]
    outbound_rules:
      - protocol: tcp
        ports: all
        destinations:
          addresses: [0.0.0.0/0, "::/0"]
    droplets: [malar-production-db-1]

- name: Remove it
  seaworthy.digitalocean.firewall:
    name: malar-staging-db
    state: absent
"""

RETURN = r"""
firewall:
  description: The firewall as the API returns it (empty when absent; the planned firewall in check mode).
  returned: always
  type: dict
  sample:
    id: bb4b2611-3d72-467b-8602-280330ecd65c
    name: freshtrack-production-web
    status: succeeded
    inbound_rules:
      - protocol: tcp
        ports: "22"
        sources:
          addresses: [0.0.0.0/0, "::/0"]
    outbound_rules:
      - protocol: tcp
        ports: "0"
        destinations:
          addresses: [0.0.0.0/0, "::/0"]
    droplet_ids: [8043964]
    tags: [freshtrack-production-web]
    pending_changes: []
rules_added:
  description: The rules this run added (or would add), one readable line each, such as C(inbound tcp 22 from 0.0.0.0/0, ::/0).
  returned: always
  type: list
  elements: str
rules_removed:
  description: The rules this run removed (or would remove), one readable line each.
  returned: always
  type: list
  elements: str
"""

import copy

from ansible_collections.seaworthy.digitalocean.plugins.module_utils import _firewall_rules as rules
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._resources import is_uuid

DIRECTIONS = (("inbound", "inbound_rules"), ("outbound", "outbound_rules"))

TARGET_OPTIONS = {
    "addresses": {"type": "list", "elements": "str"},
    "droplet_ids": {"type": "list", "elements": "int"},
    "droplets": {"type": "list", "elements": "str"},
    "tags": {"type": "list", "elements": "str", "no_log": False},
    "load_balancer_uids": {"type": "list", "elements": "str"},
    "kubernetes_ids": {"type": "list", "elements": "str"},
}


def rule_options(side):
    return {
        "type": "list",
        "elements": "dict",
        "options": {
            "protocol": {"type": "str"},
            "ports": {"type": "raw"},
            side: {"type": "dict", "options": copy.deepcopy(TARGET_OPTIONS)},
        },
    }


def view(firewall):
    """What --diff shows of a firewall: its name, rules as readable lines, Droplets and tags."""
    if not firewall:
        return {}
    return {
        "name": firewall.get("name"),
        "inbound_rules": rules.view(firewall.get("inbound_rules"), "inbound"),
        "outbound_rules": rules.view(firewall.get("outbound_rules"), "outbound"),
        "droplet_ids": sorted(firewall.get("droplet_ids") or [], key=str),
        "tags": sorted(firewall.get("tags") or []),
    }


class FirewallModule(DOModule):
    resource_key = "firewall"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "id": {"type": "str"},
                "name": {"type": "str"},
                "inbound_rules": rule_options("sources"),
                "outbound_rules": rule_options("destinations"),
                "droplets": {"type": "list", "elements": "str"},
                "tags": {"type": "list", "elements": "str", "no_log": False},
            },
            wait=True,
            required_one_of=[("id", "name")],
        )
        self._droplets = None
        self.added = []
        self.removed = []

    # -- what is asked ------------------------------------------------------------
    def wanted_rules(self):
        """{direction: parsed rules, or None when not managed}; fails naming a malformed rule."""
        wanted = {}
        for direction, option in DIRECTIONS:
            raw = self.params[option]
            if raw is None:
                wanted[direction] = None
                continue
            try:
                wanted[direction] = rules.parse_rules(raw, direction)
            except rules.RuleError as err:
                self.module.fail_json(msg=f"firewall {self.label()}: {err}")
        return wanted

    def label(self):
        return repr(self.params["name"] or self.params["id"])

    def droplet_id(self, ref, what):
        """A Droplet id from an id or a name (unique over every page of Droplets)."""
        text = str(ref).strip()
        if text.isdigit():
            return int(text)
        if self._droplets is None:
            self._droplets = self.client.list_all("droplets.list", "droplets")
        named = [d for d in self._droplets if d["name"] == text]
        if len(named) == 1:
            return named[0]["id"]
        if named:
            ids = ", ".join(str(d["id"]) for d in named)
            self.module.fail_json(msg=f"{what}: droplet name {text!r} is ambiguous (ids {ids}); give its id")
        if self.check_mode:
            self.module.warn(f"{what}: no droplet named {text!r} yet; assuming an earlier task creates it")
            return text
        self.module.fail_json(msg=f"{what}: no droplet named {text!r}")
        return None

    def resolve(self, wanted):
        for direction, _option in DIRECTIONS:
            if wanted[direction] is not None:
                wanted[direction] = rules.resolve_droplets(
                    wanted[direction],
                    direction,
                    lambda ref, d=direction: self.droplet_id(ref, f"{d}_rules droplets"),
                )
        droplet_ids = None
        if self.params["droplets"] is not None:
            droplet_ids = list(dict.fromkeys(self.droplet_id(ref, "droplets") for ref in self.params["droplets"]))
        tags = None
        if self.params["tags"] is not None:
            tags = list(dict.fromkeys(t.strip() for t in self.params["tags"]))
            bad = [t for t in tags if not rules.TAG_RE.match(t)]
            if bad:
                self.module.fail_json(msg=f"firewall {self.label()}: tags {bad} are not valid tag names")
        return wanted, droplet_ids, tags

    def find(self, firewalls):
        if self.params["id"] is not None:
            return next((f for f in firewalls if f["id"] == self.params["id"]), None)
        return self.unique(firewalls, "firewall", name=self.params["name"])

    # -- writes -------------------------------------------------------------------
    def ensure_tags(self, names):
        """Tags must exist before a firewall or a rule can name them."""
        for tag in dict.fromkeys(names):
            if self.client.fetch("tags.get", tag) is None:
                self.client.request("tags.create", {"name": tag})

    @staticmethod
    def tags_in(rule_list, direction):
        side = rules.side_of(direction)
        return [t for rule in rule_list for t in rule[side].get("tags") or []]

    def wait_settled(self, firewall):
        """Wait until the firewall's policy reached its Droplets; fail when DigitalOcean says it failed."""

        def fetch():
            return self.client.request("firewalls.get", firewall["id"])["firewall"]

        if not self.params["wait"]:
            return fetch()
        fresh = self.client.wait_for(
            fetch,
            lambda f: f.get("status") != "waiting",
            self.params["wait_timeout"],
            f"firewall {firewall['name']} ({firewall['id']}) to be applied to its Droplets",
            describe=lambda f: f"pending changes {f.get('pending_changes')}",
        )
        if fresh.get("status") == "failed":
            self.module.fail_json(
                msg=f"firewall {fresh['name']} ({fresh['id']}) could not be applied to its Droplets: status failed",
                firewall=fresh,
            )
        return fresh

    # -- create -------------------------------------------------------------------
    def create(self, wanted, droplet_ids, tags):
        name = self.params["name"]
        inbound = wanted["inbound"] or []
        outbound = wanted["outbound"] if wanted["outbound"] is not None else copy.deepcopy(rules.DEFAULT_OUTBOUND)
        if not inbound and not outbound:
            self.module.fail_json(msg=f"firewall {name!r} needs at least one inbound or outbound rule")
        body = {
            "name": name,
            "inbound_rules": inbound,
            "outbound_rules": outbound,
            "droplet_ids": droplet_ids or [],
            "tags": tags or [],
        }
        self.added = [f"inbound {rules.describe(r, 'inbound')}" for r in inbound]
        self.added += [f"outbound {rules.describe(r, 'outbound')}" for r in outbound]
        self.diff(None, view(body))
        if self.check_mode:
            return self.finish(body)
        self.ensure_tags((tags or []) + self.tags_in(inbound, "inbound") + self.tags_in(outbound, "outbound"))
        created = self.create_once(
            lambda: self.client.request("firewalls.create", body, idempotent=False)["firewall"],
            lambda: self.find(self.client.list_all("firewalls.list", "firewalls")),
            f"firewall {name!r}",
        )
        return self.finish(self.wait_settled(created))

    # -- update -------------------------------------------------------------------
    def update(self, current, wanted, droplet_ids, tags):
        changes = {}
        after = copy.deepcopy(current)
        for direction, option in DIRECTIONS:
            if wanted[direction] is None:
                continue
            keep, add, remove = rules.plan(current.get(option), wanted[direction], direction)
            changes[direction] = (add, remove)
            after[option] = keep + add
            self.added += [f"{direction} {rules.describe(r, direction)}" for r in add]
            self.removed += [f"{direction} {rules.describe(r, direction)}" for r in remove]
        if not after.get("inbound_rules") and not after.get("outbound_rules"):
            self.module.fail_json(
                msg=f"firewall {current['name']!r} needs at least one inbound or outbound rule; this would remove them all"
            )
        have_droplets = list(current.get("droplet_ids") or [])
        add_droplets = remove_droplets = []
        if droplet_ids is not None:
            add_droplets = [i for i in droplet_ids if i not in have_droplets]
            remove_droplets = [i for i in have_droplets if i not in droplet_ids]
            after["droplet_ids"] = [i for i in have_droplets if i in droplet_ids] + add_droplets
        have_tags = list(current.get("tags") or [])
        add_tags = remove_tags = []
        if tags is not None:
            add_tags = [t for t in tags if t not in have_tags]
            remove_tags = [t for t in have_tags if t not in tags]
            after["tags"] = [t for t in have_tags if t in tags] + add_tags
        rename = bool(self.params["name"]) and self.params["name"] != current["name"]
        if rename:
            after["name"] = self.params["name"]

        self.diff(view(current), view(after))
        if not self.changed:
            return self.finish(current)
        if self.check_mode:
            return self.finish(after)

        new_tags = add_tags + [t for d, (add, _r) in changes.items() for t in self.tags_in(add, d)]
        self.ensure_tags(new_tags)
        firewall_id = current["id"]
        if rename:
            # Only PUT renames; it replaces everything, so it carries the whole firewall as it must end up.
            body = {k: after.get(k) or [] for k in ("inbound_rules", "outbound_rules", "droplet_ids", "tags")}
            body["name"] = after["name"]
            self.client.request("firewalls.update", firewall_id, body)
            return self.finish(self.wait_settled(current))
        additions = {f"{d}_rules": add for d, (add, _remove) in changes.items() if add}
        removals = {f"{d}_rules": remove for d, (_add, remove) in changes.items() if remove}
        if additions:  # first, so that a rule being changed never leaves a gap
            self.client.request("firewalls.add_rules", firewall_id, additions)
        if removals:
            self.client.request("firewalls.delete_rules", firewall_id, removals)
        if add_droplets:
            self.client.request("firewalls.assign_droplets", firewall_id, {"droplet_ids": add_droplets})
        if remove_droplets:
            self.client.request("firewalls.delete_droplets", firewall_id, {"droplet_ids": remove_droplets})
        if add_tags:
            self.client.request("firewalls.add_tags", firewall_id, {"tags": add_tags})
        if remove_tags:
            self.client.request("firewalls.delete_tags", firewall_id, {"tags": remove_tags})
        return self.finish(self.wait_settled(current))

    # -- main ---------------------------------------------------------------------
    def run(self):
        name = self.params["name"]
        if self.params["state"] == "present" and name is not None and not rules.valid_name(name):
            self.module.fail_json(
                msg=f"firewall name {name!r} is invalid: a letter or digit first, then letters, digits, '.' or '-' "
                "(at least 2 characters)"
            )
        if self.params["id"] is not None and not is_uuid(self.params["id"]):
            self.module.fail_json(msg=f"firewall id {self.params['id']!r} is not a firewall id (a UUID)")
        wanted = self.wanted_rules() if self.params["state"] == "present" else None
        current = self.find(self.client.list_all("firewalls.list", "firewalls"))

        if self.params["state"] == "absent":
            self.diff(view(current), None)
            if current and not self.check_mode:
                self.client.request("firewalls.delete", current["id"])
            return self.finish({})

        if current is None and self.params["id"] is not None:
            self.module.fail_json(msg=f"firewall id {self.params['id']} does not exist")
        wanted, droplet_ids, tags = self.resolve(wanted)
        if current is None:
            return self.create(wanted, droplet_ids, tags)
        return self.update(current, wanted, droplet_ids, tags)

    def finish(self, firewall):
        self.exit(firewall, rules_added=self.added, rules_removed=self.removed)


def main():
    FirewallModule().execute()


if __name__ == "__main__":
    main()
