"""Cloud Firewalls (`/v2/firewalls`): rules, and the Droplets and tags they apply to.

Rules are kept in DigitalOcean's normal form: `ports` is "0" for all ports
("all" is accepted for it) and always "0" for ICMP; a target lists only the
kinds of source/destination it names. Adding a rule the firewall already has,
or removing one it does not have, changes nothing (204 either way). Every
change sends the firewall back to `waiting` with the affected Droplets in
`pending_changes` until, `EMULATOR_DELAY_ACTION` seconds later, it has
`succeeded`. Droplets that no longer exist drop out of `droplet_ids`.
"""

from __future__ import annotations

import ipaddress
import re

from ..errors import ApiError, not_found
from ..store import new_uuid, now_iso

PROTOCOLS = ("tcp", "udp", "icmp")
TARGET_KINDS = ("addresses", "droplet_ids", "load_balancer_uids", "kubernetes_ids", "tags")
NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9.-]+")
PORTS = re.compile(r"(\d{1,5})(?:-(\d{1,5}))?")


def _ports(protocol: str, ports) -> str:
    if protocol == "icmp":
        return "0"
    text = str(ports).strip() if ports is not None else ""
    if text in ("0", "all"):
        return "0"
    match = PORTS.fullmatch(text)
    if not match or not 1 <= int(match[1]) <= int(match[2] or match[1]) <= 65535:
        raise ApiError(
            422,
            f"You must specify a valid range for ports: got {ports!r} for {protocol} "
            '(a port "22", a range "8000-9000", or "0" for all ports).',
        )
    return text


def _target(store, raw, side: str, check_refs: bool) -> dict:
    if not isinstance(raw, dict):
        raise ApiError(422, f"You specified an invalid type for one of the {side}: it must be an object.")
    target = {}
    for kind in TARGET_KINDS:
        values = raw.get(kind) or []
        if not values:
            continue
        if kind == "addresses":
            for address in values:
                try:
                    ipaddress.ip_network(address, strict=False)
                except (TypeError, ValueError) as exc:
                    raise ApiError(422, f"invalid address {address!r} in {side}") from exc
        elif not check_refs:
            pass
        elif kind == "droplet_ids":
            _require_droplets(store, values)
        elif kind == "load_balancer_uids":
            for uid in values:
                if store.get("load_balancers", uid) is None:
                    raise ApiError(422, f"load balancer {uid} in {side} could not be found")
        elif kind == "kubernetes_ids":
            for cluster_id in values:
                if store.get("kubernetes_clusters", cluster_id) is None:
                    raise ApiError(422, f"Kubernetes cluster {cluster_id} in {side} could not be found")
        else:
            _require_tags(store, values)
        target[kind] = list(dict.fromkeys(values))
    if not target:
        raise ApiError(422, f"each rule must name at least one of {', '.join(TARGET_KINDS)} in its {side}")
    return target


def _rules(store, raw, side: str, check_refs: bool = True) -> list[dict]:
    """Validated, normalised rules; `side` is "sources" (inbound) or "destinations" (outbound).

    Rules being removed may name Droplets or tags that are gone: `check_refs=False`.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(422, f"{'inbound' if side == 'sources' else 'outbound'}_rules must be a list")
    rules = []
    for rule in raw:
        protocol = rule.get("protocol") if isinstance(rule, dict) else None
        if protocol not in PROTOCOLS:
            raise ApiError(422, f"protocol must be one of tcp, udp, icmp; got {protocol!r}")
        target = _target(store, rule.get(side), side, check_refs)
        normal = {"protocol": protocol, "ports": _ports(protocol, rule.get("ports")), side: target}
        if not any(_same(normal, r) for r in rules):
            rules.append(normal)
    return rules


def _same(a: dict, b: dict) -> bool:
    """Rules match whatever the order of their addresses, ids and tags."""

    def key(rule):
        target = rule.get("sources") or rule.get("destinations") or {}
        return rule["protocol"], rule["ports"], {k: frozenset(map(str, v)) for k, v in target.items()}

    return key(a) == key(b)


def _require_droplets(store, ids) -> None:
    for droplet_id in ids:
        if store.get("droplets", droplet_id) is None:
            raise ApiError(422, f"Droplet {droplet_id} could not be found.")


def _require_tags(store, names) -> None:
    for name in names:
        if store.get("tags", name) is None:
            raise ApiError(422, f"Tag '{name}' does not exist; create it (or tag a Droplet with it) first.")


def _check_name(name) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ApiError(
            422,
            f"Firewall name {name!r} is invalid: start with a letter or digit, then letters, digits, '.' or '-' "
            "(at least 2 characters).",
        )
    return name


def _find(store, firewall_id: str) -> dict:
    firewall = store.get("firewalls", firewall_id)
    if firewall is None:
        raise not_found("firewall")
    return firewall


def _droplets_of(store, firewall: dict) -> list[int]:
    ids = [i for i in firewall["droplet_ids"] if store.get("droplets", i) is not None]
    tagged = [
        d["id"]
        for d in store.all("droplets")
        if set(d.get("tags") or []) & set(firewall["tags"]) and d["id"] not in ids
    ]
    return ids + tagged


def _view(store, firewall: dict) -> dict:
    view = {k: v for k, v in firewall.items() if not k.startswith("_")}
    view["droplet_ids"] = [i for i in firewall["droplet_ids"] if store.get("droplets", i) is not None]
    view["pending_changes"] = (
        [{"droplet_id": i, "removing": False, "status": "waiting"} for i in _droplets_of(store, firewall)]
        if firewall["status"] == "waiting"
        else []
    )
    return view


def _changed(ctx, firewall: dict) -> None:
    """The new policy is being pushed to the Droplets; it has `succeeded` once the action delay passed."""
    firewall["status"] = "waiting"
    firewall["_generation"] = generation = firewall.get("_generation", 0) + 1

    def settle():
        if firewall.get("_generation") == generation:
            firewall["status"] = "succeeded"

    ctx.store.schedule(ctx.config.delay_action, settle)


def _settings(store, body: dict) -> dict:
    """Create and PUT share this: every attribute not given is reset to its default."""
    inbound = _rules(store, body.get("inbound_rules"), "sources")
    outbound = _rules(store, body.get("outbound_rules"), "destinations")
    if not inbound and not outbound:
        raise ApiError(422, "A firewall must have at least one inbound or outbound rule.")
    droplet_ids = list(dict.fromkeys(body.get("droplet_ids") or []))
    _require_droplets(store, droplet_ids)
    tags = list(dict.fromkeys(body.get("tags") or []))
    _require_tags(store, tags)
    return {
        "name": _check_name(body.get("name")),
        "inbound_rules": inbound,
        "outbound_rules": outbound,
        "droplet_ids": droplet_ids,
        "tags": tags,
    }


def register(api):
    @api.route("/v2/firewalls", methods=["GET"])
    def list_firewalls(ctx):
        return 200, ctx.paginate([_view(ctx.store, f) for f in ctx.store.all("firewalls")], "firewalls")

    @api.route("/v2/firewalls", methods=["POST"])
    def create_firewall(ctx):
        firewall = {"id": new_uuid(), "status": "waiting", "created_at": now_iso(), **_settings(ctx.store, ctx.json)}
        ctx.store.put("firewalls", firewall["id"], firewall)
        _changed(ctx, firewall)
        return 202, {"firewall": _view(ctx.store, firewall)}

    @api.route("/v2/firewalls/<firewall_id>", methods=["GET"])
    def get_firewall(ctx, firewall_id):
        return 200, {"firewall": _view(ctx.store, _find(ctx.store, firewall_id))}

    @api.route("/v2/firewalls/<firewall_id>", methods=["PUT"])
    def update_firewall(ctx, firewall_id):
        firewall = _find(ctx.store, firewall_id)
        firewall.update(_settings(ctx.store, ctx.json))
        _changed(ctx, firewall)
        return 200, {"firewall": _view(ctx.store, firewall)}

    @api.route("/v2/firewalls/<firewall_id>", methods=["DELETE"])
    def delete_firewall(ctx, firewall_id):
        _find(ctx.store, firewall_id)
        ctx.store.delete("firewalls", firewall_id)
        return 204, None

    @api.route("/v2/firewalls/<firewall_id>/droplets", methods=["POST", "DELETE"])
    def firewall_droplets(ctx, firewall_id):
        firewall = _find(ctx.store, firewall_id)
        ids = ctx.json.get("droplet_ids")
        if not isinstance(ids, list) or not ids:
            raise ApiError(422, "droplet_ids must be a non-empty list of Droplet ids")
        if ctx.request.method == "POST":
            _require_droplets(ctx.store, ids)
            firewall["droplet_ids"] = list(dict.fromkeys(firewall["droplet_ids"] + ids))
        else:
            firewall["droplet_ids"] = [i for i in firewall["droplet_ids"] if i not in ids]
        _changed(ctx, firewall)
        return 204, None

    @api.route("/v2/firewalls/<firewall_id>/tags", methods=["POST", "DELETE"])
    def firewall_tags(ctx, firewall_id):
        firewall = _find(ctx.store, firewall_id)
        tags = ctx.json.get("tags")
        if not isinstance(tags, list) or not tags:
            raise ApiError(422, "tags must be a non-empty list of tag names")
        if ctx.request.method == "POST":
            _require_tags(ctx.store, tags)
            firewall["tags"] = list(dict.fromkeys(firewall["tags"] + tags))
        else:
            firewall["tags"] = [t for t in firewall["tags"] if t not in tags]
        _changed(ctx, firewall)
        return 204, None

    @api.route("/v2/firewalls/<firewall_id>/rules", methods=["POST", "DELETE"])
    def firewall_rules(ctx, firewall_id):
        firewall = _find(ctx.store, firewall_id)
        body = ctx.json
        if not body.get("inbound_rules") and not body.get("outbound_rules"):
            raise ApiError(422, "send inbound_rules and/or outbound_rules with at least one rule")
        adding = ctx.request.method == "POST"
        given = {
            key: _rules(ctx.store, body.get(key), side, check_refs=adding)
            for key, side in (("inbound_rules", "sources"), ("outbound_rules", "destinations"))
        }
        for key, rules in given.items():
            if adding:
                firewall[key] = firewall[key] + [r for r in rules if not any(_same(r, have) for have in firewall[key])]
            else:
                firewall[key] = [have for have in firewall[key] if not any(_same(r, have) for r in rules)]
        _changed(ctx, firewall)
        return 204, None
