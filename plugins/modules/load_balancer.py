#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: load_balancer
short_description: Create, reconcile and delete DigitalOcean load balancers
version_added: 0.1.0
description:
  - Makes a regional load balancer exist as declared and keeps it there - its forwarding rules,
    health check, sticky sessions, HTTP options, size, firewall, project, and the Droplets behind it.
  - Identity is O(id) when given, else O(name) in O(region) over every page of the account's load
    balancers. Two matches fail the task with their ids. A create is never sent twice; after a 5xx
    or a timeout the module looks the load balancer up before retrying.
  - An existing load balancer is changed through the narrowest endpoints - forwarding rules are
    added and removed one by one (compared as a set, whatever their order), Droplets are added and
    removed, the project is assigned through the projects API. The other settings go through one
    C(PUT) of the whole load balancer, which carries everything that is not declared exactly as it
    is (DigitalOcean resets what a C(PUT) omits). Switching between O(droplets) and O(tag), and
    replacing the only forwarding rule by one on the same entry port, also need that C(PUT).
  - Region, VPC, O(network) and O(network_stack) cannot change after creation; a difference fails
    the task naming it.
  - Options not given are left as they are on an existing load balancer (DigitalOcean's defaults
    on a new one).
  - With O(wait=true) (default) it waits until the load balancer is V(active) with its IP address.
options:
  state:
    description: Whether the load balancer should exist.
    type: str
    choices: [present, absent]
    default: present
  id:
    description: The load balancer's id; identity then ignores O(name) and O(region), and a different O(name) renames it.
    type: str
  name:
    description:
      - The load balancer's name; required to create one. Letters, digits, V(.) and V(-).
    type: str
  region:
    description: Region slug (V(nyc3)); needed to create.
    type: str
  forwarding_rules:
    description:
      - The complete set of forwarding rules (at least one); rules not listed are removed.
    type: list
    elements: dict
    suboptions:
      entry_protocol:
        description: The protocol clients use to reach the load balancer.
        type: str
        choices: [http, https, http2, http3, tcp, udp]
        required: true
      entry_port:
        description: The port the load balancer listens on.
        type: int
        required: true
      target_protocol:
        description: The protocol the load balancer uses to reach the Droplets.
        type: str
        choices: [http, https, http2, tcp, udp]
        required: true
      target_port:
        description: The port on the Droplets.
        type: int
        required: true
      certificate_id:
        description: The certificate for TLS termination (needed for V(https), V(http2), V(http3) entries without O(forwarding_rules[].tls_passthrough)).
        type: str
      tls_passthrough:
        description: Pass TLS through to the Droplets (V(https) to V(https), no certificate).
        type: bool
        default: false
  health_check:
    description: How the Droplets are checked; keys not given keep their current value.
    type: dict
    suboptions:
      protocol:
        description: Protocol of the check.
        type: str
        choices: [http, https, tcp]
      port:
        description: Port on the Droplets.
        type: int
      path:
        description: Path requested by V(http) and V(https) checks.
        type: str
      check_interval_seconds:
        description: Seconds between two checks (3-300).
        type: int
      response_timeout_seconds:
        description: Seconds to wait for an answer (3-300).
        type: int
      healthy_threshold:
        description: Passed checks before a Droplet receives traffic again (2-10).
        type: int
      unhealthy_threshold:
        description: Failed checks before a Droplet is taken out (2-10).
        type: int
  sticky_sessions:
    description: Send a client to the same Droplet, by cookie.
    type: dict
    suboptions:
      type:
        description: V(cookies) or V(none).
        type: str
        choices: [cookies, none]
        required: true
      cookie_name:
        description: The cookie's name (with V(cookies)).
        type: str
      cookie_ttl_seconds:
        description: The cookie's lifetime in seconds (with V(cookies)).
        type: int
  redirect_http_to_https:
    description: Redirect HTTP on port 80 to HTTPS on 443.
    type: bool
  enable_proxy_protocol:
    description: Speak the PROXY protocol to the Droplets.
    type: bool
  enable_backend_keepalive:
    description: Keep HTTP connections to the Droplets open.
    type: bool
  http_idle_timeout_seconds:
    description: Idle timeout of HTTP connections (30-600).
    type: int
  disable_lets_encrypt_dns_records:
    description: Do not create DNS records for Let's Encrypt certificates added to the load balancer.
    type: bool
  tls_cipher_policy:
    description: TLS cipher suites offered.
    type: str
    choices: [DEFAULT, STRONG]
  size_unit:
    description: Number of nodes (1-100).
    type: int
  firewall:
    description:
      - Who may reach the load balancer, as V(ip:1.2.3.4) or V(cidr:1.2.0.0/16) entries.
      - A list given is the complete list; a list not given is left as it is.
    type: dict
    suboptions:
      allow:
        description: Sources allowed.
        type: list
        elements: str
      deny:
        description: Sources denied.
        type: list
        elements: str
  droplets:
    description:
      - The Droplets behind the load balancer, by id or name (in its region); exactly these.
      - Mutually exclusive with O(tag).
    type: list
    elements: str
  tag:
    description: Put every Droplet of the region carrying this tag behind the load balancer, as they come and go.
    type: str
  vpc:
    description: The VPC (id or name, in O(region)); the region's default VPC when omitted. Only at creation.
    type: str
  network:
    description: V(EXTERNAL) (public) or V(INTERNAL) (only in its VPC). Only at creation.
    type: str
    choices: [EXTERNAL, INTERNAL]
  network_stack:
    description: V(IPV4) or V(DUALSTACK) (IPv4 and IPv6). Only at creation.
    type: str
    choices: [IPV4, DUALSTACK]
  project:
    description: The project (id or name) the load balancer belongs to.
    type: str
notes:
  - In check mode a Droplet named in O(droplets) that does not exist yet (because an earlier task
    would create it) is reported with a warning instead of failing.
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.wait
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: TLS-terminating load balancer in front of the web Droplets (by tag)
  seaworthy.digitalocean.load_balancer:
    name: freshtrack-production-lb
    region: nyc3
    vpc: freshtrack-production-vpc
    project: FreshTrack Pro
    forwarding_rules:
      - entry_protocol: https
        entry_port: 443
        target_protocol: http
        target_port: 80
        certificate_id: 892071a0-bb95-49bc-8021-3afd67a210bf
      - entry_protocol: http
        entry_port: 80
        target_protocol: http
        target_port: 80
    redirect_http_to_https: true
    health_check:
      protocol: http
      port: 80
      path: /healthz
    tag: freshtrack-production-web
  register: lb

- name: Pass TLS through to two named Droplets, with sticky sessions
  seaworthy.digitalocean.load_balancer:
    name: malar-production-lb
    region: blr1
    forwarding_rules:
      - entry_protocol: https
        entry_port: 443
        target_protocol: https
        target_port: 443
        tls_passthrough: true
    sticky_sessions:
      type: cookies
      cookie_name: MALAR
      cookie_ttl_seconds: 300
    droplets: [malar-production-web-1, malar-production-web-2]
    firewall:
      deny: [cidr:192.0.2.0/24]

- name: Remove it
  seaworthy.digitalocean.load_balancer:
    name: malar-staging-lb
    region: blr1
    state: absent
"""

RETURN = r"""
load_balancer:
  description: The load balancer as the API returns it (empty when absent; the planned one in check mode).
  returned: always
  type: dict
  sample:
    id: 4de7ac8b-495b-4884-9a69-1050c6793cd6
    name: freshtrack-production-lb
    ip: 104.131.186.241
    status: active
    region:
      slug: nyc3
    forwarding_rules:
      - entry_protocol: http
        entry_port: 80
        target_protocol: http
        target_port: 80
        certificate_id: ""
        tls_passthrough: false
    droplet_ids: [3164444, 3164445]
    tag: ""
ip:
  description: The load balancer's IP address (once it is active).
  returned: when the load balancer exists and has one
  type: str
  sample: 104.131.186.241
"""

import copy
import ipaddress
import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule, region_matches, region_slug
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._resources import (
    ensure_in_project,
    find_project,
    resolve_vpc,
)

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.-]{0,254}$")
TLS_ENTRIES = ("https", "http2", "http3")
SCALARS = (
    "redirect_http_to_https",
    "enable_proxy_protocol",
    "enable_backend_keepalive",
    "http_idle_timeout_seconds",
    "disable_lets_encrypt_dns_records",
    "tls_cipher_policy",
    "size_unit",
)
# Everything a PUT must carry again, or DigitalOcean resets it to its default.
KEPT_ON_PUT = (
    "health_check",
    "sticky_sessions",
    *SCALARS,
    "firewall",
    "vpc_uuid",
    "network",
    "network_stack",
    "type",
)
RANGES = {
    "http_idle_timeout_seconds": (30, 600),
    "size_unit": (1, 100),
    "health_check.port": (1, 65535),
    "health_check.check_interval_seconds": (3, 300),
    "health_check.response_timeout_seconds": (3, 300),
    "health_check.healthy_threshold": (2, 10),
    "health_check.unhealthy_threshold": (2, 10),
    "sticky_sessions.cookie_ttl_seconds": (1, 2**31 - 1),
}


# -- forwarding rules --------------------------------------------------------------
def rule_key(rule):
    return (
        rule.get("entry_protocol"),
        int(rule.get("entry_port") or 0),
        rule.get("target_protocol"),
        int(rule.get("target_port") or 0),
        rule.get("certificate_id") or "",
        bool(rule.get("tls_passthrough")),
    )


def describe_rule(rule):
    """One forwarding rule in a readable line: `https 443 -> http 80 (certificate <id>)`."""
    text = f"{rule.get('entry_protocol')} {rule.get('entry_port')} -> {rule.get('target_protocol')} {rule.get('target_port')}"
    if rule.get("tls_passthrough"):
        text += " (tls passthrough)"
    elif rule.get("certificate_id"):
        text += f" (certificate {rule['certificate_id']})"
    return text


def api_rule(rule):
    """A rule as the API returned it, ready to be sent back (to keep it, or to remove it)."""
    clean = {k: rule.get(k) for k in ("entry_protocol", "entry_port", "target_protocol", "target_port")}
    if "certificate_id" in rule and rule["certificate_id"] is not None:
        clean["certificate_id"] = rule["certificate_id"]
    if "tls_passthrough" in rule and rule["tls_passthrough"] is not None:
        clean["tls_passthrough"] = bool(rule["tls_passthrough"])
    return clean


def wanted_rule(rule):
    body = {k: rule[k] for k in ("entry_protocol", "entry_port", "target_protocol", "target_port")}
    if rule.get("certificate_id"):
        body["certificate_id"] = rule["certificate_id"]
    if rule.get("tls_passthrough"):
        body["tls_passthrough"] = True
    return body


def entry(rule):
    """Two rules clash when they listen on the same port (UDP apart)."""
    return rule["entry_port"], rule["entry_protocol"] == "udp"


def sticky_view(sticky):
    sticky = sticky or {}
    if sticky.get("type", "none") == "none":
        return {"type": "none"}
    return {k: sticky.get(k) for k in ("type", "cookie_name", "cookie_ttl_seconds")}


def firewall_view(firewall):
    firewall = firewall or {}
    return {k: sorted(firewall.get(k) or []) for k in ("allow", "deny")}


def view(lb):
    """What --diff shows of a load balancer: what can be declared, not the API's bookkeeping."""
    if not lb:
        return {}
    result = {
        "name": lb.get("name"),
        "region": region_slug(lb),
        "forwarding_rules": [
            describe_rule(r)
            for r in sorted(
                lb.get("forwarding_rules") or [], key=lambda r: (r.get("entry_port") or 0, describe_rule(r))
            )
        ],
        "health_check": lb.get("health_check") or {},
        "sticky_sessions": sticky_view(lb.get("sticky_sessions")),
        "firewall": firewall_view(lb.get("firewall")),
    }
    for field in (*SCALARS, "vpc_uuid", "network", "network_stack", "project_id"):
        if lb.get(field) is not None:
            result[field] = lb[field]
    if lb.get("tag"):
        result["tag"] = lb["tag"]
    else:
        result["droplet_ids"] = sorted(lb.get("droplet_ids") or [], key=str)
    return result


class LoadBalancerModule(DOModule):
    resource_key = "load_balancer"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "id": {"type": "str"},
                "name": {"type": "str"},
                "region": {"type": "str"},
                "forwarding_rules": {
                    "type": "list",
                    "elements": "dict",
                    "options": {
                        "entry_protocol": {
                            "type": "str",
                            "required": True,
                            "choices": ["http", "https", "http2", "http3", "tcp", "udp"],
                        },
                        "entry_port": {"type": "int", "required": True},
                        "target_protocol": {
                            "type": "str",
                            "required": True,
                            "choices": ["http", "https", "http2", "tcp", "udp"],
                        },
                        "target_port": {"type": "int", "required": True},
                        "certificate_id": {"type": "str"},
                        "tls_passthrough": {"type": "bool", "default": False},
                    },
                },
                "health_check": {
                    "type": "dict",
                    "options": {
                        "protocol": {"type": "str", "choices": ["http", "https", "tcp"]},
                        "port": {"type": "int"},
                        "path": {"type": "str"},
                        "check_interval_seconds": {"type": "int"},
                        "response_timeout_seconds": {"type": "int"},
                        "healthy_threshold": {"type": "int"},
                        "unhealthy_threshold": {"type": "int"},
                    },
                },
                "sticky_sessions": {
                    "type": "dict",
                    "options": {
                        "type": {"type": "str", "choices": ["cookies", "none"], "required": True},
                        "cookie_name": {"type": "str"},
                        "cookie_ttl_seconds": {"type": "int"},
                    },
                },
                "redirect_http_to_https": {"type": "bool"},
                "enable_proxy_protocol": {"type": "bool"},
                "enable_backend_keepalive": {"type": "bool"},
                "http_idle_timeout_seconds": {"type": "int"},
                "disable_lets_encrypt_dns_records": {"type": "bool"},
                "tls_cipher_policy": {"type": "str", "choices": ["DEFAULT", "STRONG"]},
                "size_unit": {"type": "int"},
                "firewall": {
                    "type": "dict",
                    "options": {
                        "allow": {"type": "list", "elements": "str"},
                        "deny": {"type": "list", "elements": "str"},
                    },
                },
                "droplets": {"type": "list", "elements": "str"},
                "tag": {"type": "str"},
                "vpc": {"type": "str"},
                "network": {"type": "str", "choices": ["EXTERNAL", "INTERNAL"]},
                "network_stack": {"type": "str", "choices": ["IPV4", "DUALSTACK"]},
                "project": {"type": "str"},
            },
            wait=True,
            required_one_of=[("id", "name")],
            mutually_exclusive=[("droplets", "tag")],
        )
        self._droplets = None

    # -- local validation -------------------------------------------------------------
    def fail(self, problem):
        self.module.fail_json(msg=f"load balancer {self.params['name'] or self.params['id']!r}: {problem}")

    def validate(self):
        """Everything DigitalOcean would refuse that can be seen without asking it."""
        name = self.params["name"]
        if name is not None and not NAME_RE.match(name):
            self.fail("the name may only hold letters, digits, '.' and '-' (up to 255, a letter or digit first)")
        for option, (low, high) in RANGES.items():
            parent, _dot, child = option.partition(".")
            value = (self.params[parent] or {}).get(child) if child else self.params[parent]
            if value is not None and not low <= value <= high:
                self.fail(f"{option} must be from {low} to {high}, got {value}")
        sticky = self.params["sticky_sessions"]
        if sticky and sticky["type"] == "cookies" and not (sticky["cookie_name"] and sticky["cookie_ttl_seconds"]):
            self.fail("sticky_sessions of type cookies need cookie_name and cookie_ttl_seconds")
        for kind, entries in (self.params["firewall"] or {}).items():
            for item in entries or []:
                family, _colon, value = str(item).partition(":")
                try:
                    if family == "ip":
                        ipaddress.ip_address(value)
                    elif family == "cidr":
                        ipaddress.ip_network(value, strict=False)
                    else:
                        raise ValueError(family)
                except ValueError:
                    self.fail(f"firewall.{kind} entry {item!r} must look like ip:1.2.3.4 or cidr:1.2.0.0/16")
        if self.params["tag"] is not None and not re.match(r"^[a-zA-Z0-9_\-:]{1,255}$", self.params["tag"]):
            self.fail(f"tag {self.params['tag']!r} is not a valid tag name (letters, digits, _ - :)")
        self.validate_rules()

    def validate_rules(self):
        rules = self.params["forwarding_rules"]
        if rules is None:
            return
        if not rules:
            self.fail("forwarding_rules must list at least one rule")
        seen = {}
        for index, rule in enumerate(rules):
            where = f"forwarding_rules[{index}] ({describe_rule(rule)})"
            for port in ("entry_port", "target_port"):
                if not 1 <= rule[port] <= 65535:
                    self.fail(f"{where}: {port} must be from 1 to 65535")
            if (rule["entry_protocol"] == "udp") != (rule["target_protocol"] == "udp"):
                self.fail(f"{where}: UDP forwards only to UDP")
            if rule["tls_passthrough"]:
                if (rule["entry_protocol"], rule["target_protocol"]) != ("https", "https"):
                    self.fail(f"{where}: tls_passthrough needs https to https")
                if rule["certificate_id"]:
                    self.fail(f"{where}: tls_passthrough and certificate_id exclude each other")
            elif rule["entry_protocol"] in TLS_ENTRIES and not rule["certificate_id"]:
                self.fail(f"{where}: an {rule['entry_protocol']} entry needs certificate_id (or tls_passthrough)")
            if entry(rule) in seen:
                self.fail(
                    f"{where}: forwarding_rules[{seen[entry(rule)]}] listens on entry_port {rule['entry_port']} too"
                )
            seen[entry(rule)] = index

    # -- identity and references --------------------------------------------------------
    def find(self, lbs):
        if self.params["id"] is not None:
            return next((lb for lb in lbs if lb["id"] == self.params["id"]), None)
        return self.unique(lbs, "load balancer", name=self.params["name"], region=self.params["region"])

    def droplet_ids(self, region):
        """The declared Droplets as ids (names looked up in `region`); None when not declared."""
        if self.params["droplets"] is None:
            return None
        ids = []
        for ref in self.params["droplets"]:
            text = str(ref).strip()
            if text.isdigit():
                value = int(text)
            else:
                if self._droplets is None:
                    self._droplets = self.client.list_all("droplets.list", "droplets")
                named = [
                    d for d in self._droplets if d["name"] == text and region_matches(region, region_slug(d) or "")
                ]
                if len(named) > 1:
                    self.fail(f"droplets: name {text!r} is ambiguous (ids {', '.join(str(d['id']) for d in named)})")
                if named:
                    value = named[0]["id"]
                elif self.check_mode:
                    self.module.warn(
                        f"droplets: no droplet named {text!r} in {region} yet; assuming an earlier task creates it"
                    )
                    value = text
                else:
                    self.fail(f"droplets: no droplet named {text!r} in region {region}")
            if value not in ids:
                ids.append(value)
        return ids

    # -- waiting --------------------------------------------------------------------------
    def wait_active(self, lb):
        if not self.params["wait"]:
            return self.client.request("load_balancers.get", lb["id"])["load_balancer"]
        ready = self.client.wait_for(
            lambda: self.client.request("load_balancers.get", lb["id"])["load_balancer"],
            lambda x: x["status"] == "errored" or (x["status"] == "active" and x.get("ip")),
            self.params["wait_timeout"],
            f"load balancer {lb['name']} ({lb['id']}) to become active with an IP address",
            describe=lambda x: f"status {x['status']}",
        )
        if ready["status"] == "errored":
            self.module.fail_json(msg=f"load balancer {lb['name']} ({lb['id']}) is errored", load_balancer=ready)
        return ready

    # -- create ---------------------------------------------------------------------------
    def create(self, vpc, project):
        missing = [opt for opt in ("region", "forwarding_rules") if not self.params[opt]]
        if missing:
            self.fail(f"creating it needs {' and '.join(missing)}")
        region = self.params["region"]
        body = {
            "name": self.params["name"],
            "region": region,
            "forwarding_rules": [wanted_rule(r) for r in self.params["forwarding_rules"]],
        }
        if self.params["tag"]:
            body["tag"] = self.params["tag"]
        else:
            body["droplet_ids"] = self.droplet_ids(region) or []
        for field in SCALARS:
            if self.params[field] is not None:
                body[field] = self.params[field]
        if self.params["health_check"]:
            body["health_check"] = {k: v for k, v in self.params["health_check"].items() if v is not None}
        if self.params["sticky_sessions"]:
            body["sticky_sessions"] = sticky_view(self.params["sticky_sessions"])
        if self.params["firewall"]:
            body["firewall"] = {k: list(dict.fromkeys(v)) for k, v in self.params["firewall"].items() if v is not None}
        for field in ("network", "network_stack"):
            if self.params[field]:
                body[field] = self.params[field]
        if vpc:
            body["vpc_uuid"] = vpc["id"]
        if project:
            body["project_id"] = project["id"]
        planned = dict(body, region={"slug": region}, status="new", ip="")
        self.diff(None, view(planned))
        if self.check_mode:
            return self.finish(planned)
        created = self.create_once(
            lambda: self.client.request("load_balancers.create", body, idempotent=False)["load_balancer"],
            lambda: self.find(self.client.list_all("load_balancers.list", "load_balancers")),
            f"load balancer {self.params['name']!r} in {region}",
        )
        return self.finish(self.wait_active(created))

    # -- update ---------------------------------------------------------------------------
    def immutable_differences(self, lb, vpc):
        differences = []
        region = region_slug(lb)
        if self.params["region"] and not region_matches(self.params["region"], region):
            differences.append(f"region {region} -> {self.params['region']}")
        if vpc and lb.get("vpc_uuid") != vpc["id"]:
            differences.append(f"vpc {lb.get('vpc_uuid')} -> {vpc['id']} ({vpc['name']})")
        for field in ("network", "network_stack"):
            if self.params[field] and lb.get(field) and lb[field] != self.params[field]:
                differences.append(f"{field} {lb[field]} -> {self.params[field]}")
        return differences

    def settings(self, lb, after):
        """Apply the declared settings to `after`; return the PUT overrides they need."""
        put = {}
        for field in SCALARS:
            wanted = self.params[field]
            if wanted is not None and lb.get(field) != wanted:
                put[field] = after[field] = wanted
        if self.params["name"] and self.params["name"] != lb["name"]:
            put["name"] = after["name"] = self.params["name"]
        if self.params["health_check"]:
            merged = dict(lb.get("health_check") or {})
            merged.update({k: v for k, v in self.params["health_check"].items() if v is not None})
            if merged != (lb.get("health_check") or {}):
                put["health_check"] = after["health_check"] = merged
        if self.params["sticky_sessions"]:
            wanted = sticky_view(self.params["sticky_sessions"])
            if wanted != sticky_view(lb.get("sticky_sessions")):
                put["sticky_sessions"] = after["sticky_sessions"] = wanted
        if self.params["firewall"]:
            merged = firewall_view(lb.get("firewall"))
            merged.update({k: sorted(set(v)) for k, v in self.params["firewall"].items() if v is not None})
            if merged != firewall_view(lb.get("firewall")):
                put["firewall"] = after["firewall"] = merged
        return put

    def plan_rules(self, lb, after):
        """(add, remove, via_put) for the forwarding rules; `after` gets the resulting rules."""
        if self.params["forwarding_rules"] is None:
            return [], [], False
        current = lb.get("forwarding_rules") or []
        wanted = [wanted_rule(r) for r in self.params["forwarding_rules"]]
        wanted_keys = {rule_key(r) for r in wanted}
        current_keys = {rule_key(r) for r in current}
        keep = [api_rule(r) for r in current if rule_key(r) in wanted_keys]
        remove = [api_rule(r) for r in current if rule_key(r) not in wanted_keys]
        add = [r for r in wanted if rule_key(r) not in current_keys]
        after["forwarding_rules"] = keep + add
        # Removing every rule is refused, and adding one on an entry port still in use clashes:
        # when both would happen, only a PUT can swap the rules.
        via_put = bool(remove) and not keep and any(entry(a) in {entry(r) for r in remove} for a in add)
        return add, remove, via_put

    def update(self, lb, vpc, project):
        differences = self.immutable_differences(lb, vpc)
        if differences:
            self.fail(
                f"cannot change in place: {'; '.join(differences)}. Delete it and create it again (its IP changes)."
            )
        after = copy.deepcopy(lb)
        put = self.settings(lb, after)
        add_rules, remove_rules, rules_via_put = self.plan_rules(lb, after)

        backends = None  # the PUT's droplet_ids/tag, when the way Droplets are chosen changes
        add_droplets = remove_droplets = []
        if self.params["tag"] and self.params["tag"] != lb.get("tag"):
            backends = {"tag": self.params["tag"]}
            after["tag"] = self.params["tag"]
        wanted_ids = self.droplet_ids(region_slug(lb))
        if wanted_ids is not None:
            have = list(lb.get("droplet_ids") or [])
            if lb.get("tag"):
                backends = {"droplet_ids": wanted_ids}
                after["tag"] = ""
                after["droplet_ids"] = wanted_ids
            else:
                add_droplets = [i for i in wanted_ids if i not in have]
                remove_droplets = [i for i in have if i not in wanted_ids]
                after["droplet_ids"] = [i for i in have if i in wanted_ids] + add_droplets

        urn = f"do:loadbalancer:{lb['id']}"
        if project and lb.get("project_id") is None:  # not in the answer: ask the project (a read)
            move_project = ensure_in_project(self.client, project, urn, check_mode=True)
        else:
            move_project = bool(project) and lb.get("project_id") != project["id"]
        if move_project:
            after["project_id"] = project["id"]

        self.diff(view(lb), view(after))
        if not self.changed:
            return self.finish(lb)
        if self.check_mode:
            return self.finish(after)

        lb_id = lb["id"]
        if not rules_via_put:
            # Remove first (frees entry ports) unless that would leave no rule at all.
            emptied = bool(remove_rules) and len(remove_rules) == len(lb.get("forwarding_rules") or [])
            order = ("add", "remove") if emptied else ("remove", "add")
            for step in order:
                if step == "add" and add_rules:
                    self.client.request("load_balancers.add_forwarding_rules", lb_id, {"forwarding_rules": add_rules})
                if step == "remove" and remove_rules:
                    self.client.request(
                        "load_balancers.remove_forwarding_rules", lb_id, {"forwarding_rules": remove_rules}
                    )
        if backends is None:
            if add_droplets:
                self.client.request("load_balancers.add_droplets", lb_id, {"droplet_ids": add_droplets})
            if remove_droplets:
                self.client.request("load_balancers.remove_droplets", lb_id, {"droplet_ids": remove_droplets})
        sent_put = bool(put or backends is not None or rules_via_put)
        if sent_put:
            self.client.request("load_balancers.update", lb_id, self.put_body(lb, after, put, backends))
        if move_project and not (sent_put and after.get("project_id") == project["id"]):
            self.client.request("projects.assign_resources", project["id"], {"resources": [urn]})
        return self.finish(self.wait_active(lb) if lb.get("status") != "active" else self.fresh(lb_id))

    def fresh(self, lb_id):
        return self.client.request("load_balancers.get", lb_id)["load_balancer"]

    @staticmethod
    def put_body(lb, after, put, backends):
        """The whole load balancer as it must end up: DigitalOcean resets whatever a PUT leaves out."""
        body = {
            "name": after["name"],
            "region": region_slug(lb),
            "forwarding_rules": [api_rule(r) for r in after["forwarding_rules"]],
        }
        for field in KEPT_ON_PUT:
            if lb.get(field) is not None:
                body[field] = lb[field]
        if "sticky_sessions" in body:
            body["sticky_sessions"] = sticky_view(body["sticky_sessions"])
        if lb.get("size_unit") is None and lb.get("size"):
            body["size"] = lb["size"]
        if after.get("project_id"):  # not left to a default: the PUT keeps (or sets) the project
            body["project_id"] = after["project_id"]
        body.update(put)
        if backends is not None:
            body.update(backends)
        elif lb.get("tag"):
            body["tag"] = lb["tag"]
        else:
            body["droplet_ids"] = list(after.get("droplet_ids") or [])
        return body

    # -- main -----------------------------------------------------------------------------
    def run(self):
        if self.params["state"] == "present":
            self.validate()
        current = self.find(self.client.list_all("load_balancers.list", "load_balancers"))
        if self.params["state"] == "absent":
            self.diff(view(current), None)
            if current and not self.check_mode:
                self.client.request("load_balancers.delete", current["id"])
            return self.finish({})
        if current is None and self.params["id"] is not None:
            self.fail(f"load balancer id {self.params['id']} does not exist")
        region = self.params["region"] or (region_slug(current) if current else None)
        vpc = resolve_vpc(self.client, self.module, self.params["vpc"], region)
        project = find_project(self.client, self.module, self.params["project"])
        if current is None:
            return self.create(vpc, project)
        return self.update(current, vpc, project)

    def finish(self, lb):
        extra = {"ip": lb["ip"]} if lb and lb.get("ip") else {}
        self.exit(lb, **extra)


def main():
    LoadBalancerModule().execute()


if __name__ == "__main__":
    main()
