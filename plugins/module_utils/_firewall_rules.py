# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud Firewall rules: validation, DigitalOcean's normal form, and set differences.

Pure Python (no API calls), so the firewall module stays short and this logic
is unit-tested on its own (tests/unit/test_firewall_rules.py).

A rule is a dict in the API's shape: `{"protocol", "ports", <side>: {kind: [values]}}`
where `<side>` is `sources` (inbound) or `destinations` (outbound). Two rules are
the same rule when their `key()` is equal. The key applies what DigitalOcean does
to a rule when it stores it, so a rule written either way compares equal:

- `ports`: "all", "0", "1-65535" (and an omitted port on ICMP) are all "0", which
  is what the API returns for "every port"; "22-22" is "22"; an int is its string.
- ICMP has no ports: always "0".
- the values of a target are a set: order and duplicates do not matter;
  addresses compare as networks ("10.0.0.1/8" is "10.0.0.0/8", "1.2.3.4" is
  "1.2.3.4/32"), but "0.0.0.0/0" alone is NOT "0.0.0.0/0" + "::/0": the API keeps
  both families apart, and so does the key.
- a kind with no values is the same as a kind not given.

Rules the API returned are removed by sending them back exactly as returned
(`api_form`); rules being added are sent in the normal form built here.
"""

from __future__ import annotations

import ipaddress
import re

PROTOCOLS = ("tcp", "udp", "icmp")
ALL_PORTS = "0"
ALL_PORTS_WORDS = ("all", "0", "1-65535", "")
TARGET_KINDS = ("addresses", "droplet_ids", "load_balancer_uids", "kubernetes_ids", "tags")
ANYWHERE = ["0.0.0.0/0", "::/0"]
PORT_RE = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")
TAG_RE = re.compile(r"^[a-zA-Z0-9_\-:]{1,255}$")
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.-]+$")

# DigitalOcean's console default for a new firewall: every protocol, every port, anywhere.
DEFAULT_OUTBOUND = [
    {"protocol": "tcp", "ports": ALL_PORTS, "destinations": {"addresses": list(ANYWHERE)}},
    {"protocol": "udp", "ports": ALL_PORTS, "destinations": {"addresses": list(ANYWHERE)}},
    {"protocol": "icmp", "ports": ALL_PORTS, "destinations": {"addresses": list(ANYWHERE)}},
]

LABELS = {
    "droplet_ids": "droplet",
    "load_balancer_uids": "load_balancer",
    "kubernetes_ids": "kubernetes",
    "tags": "tag",
}


class RuleError(ValueError):
    """A rule that DigitalOcean would refuse, found before any call."""


def side_of(direction):
    """`sources` for inbound rules, `destinations` for outbound ones."""
    return "sources" if direction == "inbound" else "destinations"


# -- ports ----------------------------------------------------------------------
def normal_ports(protocol, ports):
    """The `ports` string DigitalOcean stores for `ports` on `protocol`; RuleError when invalid."""
    if isinstance(ports, bool):
        raise RuleError(f"ports must be a port, a range or 'all', not {ports!r}")
    text = "" if ports is None else str(ports).strip().lower()
    if protocol == "icmp":
        if text not in ALL_PORTS_WORDS:
            raise RuleError(f"icmp has no ports (got {ports!r}); leave ports out")
        return ALL_PORTS
    if text == "":
        raise RuleError(f"{protocol} needs ports: a port (22), a range (8000-9000) or 'all'")
    if text in ALL_PORTS_WORDS:
        return ALL_PORTS
    match = PORT_RE.match(text)
    if not match:
        raise RuleError(f"ports {ports!r} is not a port (22), a range (8000-9000) or 'all'")
    low, high = int(match.group(1)), int(match.group(2) or match.group(1))
    if not 1 <= low <= 65535 or not 1 <= high <= 65535:
        raise RuleError(f"ports {ports!r} is outside 1-65535")
    if low > high:
        raise RuleError(f"ports {ports!r} is a range that ends before it starts")
    if (low, high) == (1, 65535):
        return ALL_PORTS
    return str(low) if low == high else f"{low}-{high}"


def _key_ports(protocol, ports):
    """Ports as the key compares them; never fails (the API may hold forms we would not send)."""
    try:
        return normal_ports(protocol, ports)
    except RuleError:
        return str(ports)


# -- addresses ------------------------------------------------------------------
def _network(text):
    return ipaddress.ip_network(str(text).strip(), strict=False)


def canonical_address(text):
    """An address or CIDR as the network it names ("1.2.3.4" -> "1.2.3.4/32"); unparsable text as is."""
    try:
        return str(_network(text))
    except ValueError:
        return str(text).strip()


def address_order(text):
    """Sort addresses IPv4 first, then by network, then the unparsable ones by text."""
    try:
        net = _network(text)
    except ValueError:
        return (9, 0, 0, str(text))
    return (net.version, int(net.network_address), net.prefixlen, "")


# -- one rule -------------------------------------------------------------------
def key(rule, direction):
    """What makes two rules the same rule (see the module docstring)."""
    protocol = rule.get("protocol")
    target = rule.get(side_of(direction)) or {}
    parts = []
    for kind in TARGET_KINDS:
        values = target.get(kind) or []
        if not values:
            continue
        if kind == "addresses":
            normal = frozenset(canonical_address(v) for v in values)
        else:
            normal = frozenset(str(v) for v in values)
        parts.append((kind, normal))
    return (protocol, _key_ports(protocol, rule.get("ports")), tuple(parts))


def api_form(rule, direction):
    """A rule as returned by the API, ready to send back: only its kinds that have values."""
    side = side_of(direction)
    target = rule.get(side) or {}
    return {
        "protocol": rule.get("protocol"),
        "ports": rule.get("ports") if rule.get("ports") not in (None, "") else ALL_PORTS,
        side: {kind: list(target[kind]) for kind in TARGET_KINDS if target.get(kind)},
    }


def describe(rule, direction):
    """A rule in one readable line: `tcp 22 from 0.0.0.0/0, ::/0, tag:web`."""
    protocol = rule.get("protocol")
    ports = _key_ports(protocol, rule.get("ports"))
    target = rule.get(side_of(direction)) or {}
    names = sorted((str(a).strip() for a in target.get("addresses") or []), key=address_order)
    for kind in TARGET_KINDS[1:]:
        names += [f"{LABELS[kind]}:{v}" for v in sorted(target.get(kind) or [], key=str)]
    for ref in target.get("droplets") or []:  # names not resolved yet (check mode)
        names.append(f"droplet:{ref}")
    head = protocol if protocol == "icmp" else f"{protocol} {'all' if ports == ALL_PORTS else ports}"
    return f"{head} {'from' if direction == 'inbound' else 'to'} {', '.join(names) or 'nowhere'}"


def _strings(values, what):
    found = []
    for value in values or []:
        text = str(value).strip() if value is not None else ""
        if not text:
            raise RuleError(f"{what} has an empty entry")
        if text not in found:
            found.append(text)
    return found


def parse_rule(raw, direction):
    """Validate one rule as the module's options give it; return it in normal form.

    The target may carry `droplets` (names or ids, resolved later by the module);
    every other kind is in the API's shape. RuleError says what is wrong.
    """
    side = side_of(direction)
    if not isinstance(raw, dict):
        raise RuleError("a rule must be a dict with protocol, ports and " + side)
    protocol = str(raw.get("protocol") or "").strip().lower()
    if protocol not in PROTOCOLS:
        raise RuleError(f"protocol must be tcp, udp or icmp, got {raw.get('protocol')!r}")
    ports = normal_ports(protocol, raw.get("ports"))
    given = raw.get(side)
    if not isinstance(given, dict):
        raise RuleError(f"{side} is missing: name addresses, droplets, tags, load balancers or Kubernetes clusters")
    target = {}
    addresses = []
    for text in _strings(
        [part for entry in given.get("addresses") or [] for part in str(entry).split(",")], f"{side}.addresses"
    ):
        try:
            _network(text)
        except ValueError:
            raise RuleError(f"{side}.addresses: {text!r} is not an IP address or CIDR") from None
        if canonical_address(text) not in {canonical_address(a) for a in addresses}:
            addresses.append(text)
    if addresses:
        target["addresses"] = addresses
    droplet_ids = []
    for value in given.get("droplet_ids") or []:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise RuleError(f"{side}.droplet_ids: {value!r} is not a droplet id (use droplets for names)") from None
        if number not in droplet_ids:
            droplet_ids.append(number)
    if droplet_ids:
        target["droplet_ids"] = droplet_ids
    for kind in ("load_balancer_uids", "kubernetes_ids"):
        values = _strings(given.get(kind), f"{side}.{kind}")
        if values:
            target[kind] = values
    tags = _strings(given.get("tags"), f"{side}.tags")
    for tag in tags:
        if not TAG_RE.match(tag):
            raise RuleError(f"{side}.tags: {tag!r} is not a valid tag name (letters, digits, _ - :)")
    if tags:
        target["tags"] = tags
    droplets = _strings(given.get("droplets"), f"{side}.droplets")
    if droplets:
        target["droplets"] = droplets
    if not target:
        raise RuleError(f"{side} names nothing: give addresses, droplets, tags, load_balancer_uids or kubernetes_ids")
    return {"protocol": protocol, "ports": ports, side: target}


def _summary(raw, direction):
    """A best-effort one-line description of a raw rule, for error messages."""
    if not isinstance(raw, dict):
        return repr(raw)
    side = side_of(direction)
    target = raw.get(side) if isinstance(raw.get(side), dict) else {}
    values = []
    for kind in ("addresses", "droplets", *TARGET_KINDS[1:]):
        values += [str(v) for v in target.get(kind) or []]
    ports = raw.get("ports")
    head = " ".join(str(p) for p in (raw.get("protocol"), ports) if p not in (None, ""))
    return f"{head or 'no protocol'} {'from' if direction == 'inbound' else 'to'} {', '.join(values) or 'nothing'}"


def parse_rules(raws, direction):
    """Every rule of `<direction>_rules`, validated, deduplicated; RuleError names the bad one."""
    rules = []
    seen = set()
    for index, raw in enumerate(raws or []):
        try:
            rule = parse_rule(raw, direction)
        except RuleError as err:
            raise RuleError(f"{direction}_rules[{index}] ({_summary(raw, direction)}): {err}") from None
        rule_key = (*key(rule, direction), tuple(rule[side_of(direction)].get("droplets") or ()))
        if rule_key not in seen:
            seen.add(rule_key)
            rules.append(rule)
    return rules


def droplet_refs(rules, direction):
    """The droplet names/ids the rules name through `droplets`."""
    side = side_of(direction)
    return [ref for rule in rules for ref in rule[side].get("droplets") or []]


def resolve_droplets(rules, direction, resolve):
    """Replace each rule's `droplets` by ids (`resolve(ref)` gives an id, or the ref itself when
    it cannot be resolved yet, as in check mode) merged into `droplet_ids`; deduplicate again."""
    side = side_of(direction)
    resolved = []
    for rule in rules:
        target = dict(rule[side])
        refs = target.pop("droplets", [])
        ids = list(target.get("droplet_ids") or [])
        for ref in refs:
            value = resolve(ref)
            if value not in ids:
                ids.append(value)
        if ids:
            target["droplet_ids"] = ids
        new = {"protocol": rule["protocol"], "ports": rule["ports"], side: target}
        if all(key(new, direction) != key(other, direction) for other in resolved):
            resolved.append(new)
    return resolved


# -- rule sets --------------------------------------------------------------------
def plan(current, wanted, direction):
    """Compare the API's rules with the wanted ones, whatever their order.

    Returns `(keep, add, remove)`: `keep` and `remove` in the API's form (to send back
    as they are), `add` in the wanted rules' form.
    """
    wanted_keys = {key(rule, direction) for rule in wanted}
    keep, remove, have = [], [], set()
    for rule in current or []:
        rule_key = key(rule, direction)
        if rule_key in have:  # a duplicate: removing it would remove its twin too
            continue
        have.add(rule_key)
        (keep if rule_key in wanted_keys else remove).append(api_form(rule, direction))
    add = [rule for rule in wanted if key(rule, direction) not in have]
    return keep, add, remove


def _reading_order(rule):
    ports = _key_ports(rule.get("protocol"), rule.get("ports"))
    first = ports.split("-", maxsplit=1)[0]
    return (rule.get("protocol") or "", int(first) if first.isdigit() else 65536)


def view(rules, direction):
    """A rule set as readable lines, by protocol then port (for --diff)."""
    ordered = sorted(rules or [], key=lambda rule: (_reading_order(rule), describe(rule, direction)))
    return [describe(rule, direction) for rule in ordered]


def valid_name(name):
    """Firewall names as the API takes them: a letter or digit, then letters, digits, '.' or '-'."""
    return bool(NAME_RE.match(name or ""))
