"""Load balancers (`/v2/load_balancers`): forwarding rules, health checks and backend Droplets.

A load balancer is `new` (no IP yet) until `EMULATOR_DELAY_ACTION` seconds
later it is `active` with a public IP from 198.51.100.0/24 (an INTERNAL one
with an address of its VPC). Its Droplets are
listed by id or chosen by a tag (then `droplet_ids` are the region's Droplets
carrying the tag, as they come and go). It sits in the region's default VPC
unless told otherwise and lands in the default project unless `project_id`
names another. PUT replaces the whole configuration: what is not sent is
reset to its default, as DigitalOcean documents.
"""

from __future__ import annotations

import ipaddress
import re

from ..errors import ApiError, not_found
from ..store import new_uuid, now_iso
from ._shared import default_vpc, urn, validate_tag_name
from .catalog import region_object, require_region
from .projects import assign_to_project, project_of, require_project

ADDRESSES = ipaddress.ip_network("198.51.100.0/24")
IPV6_PREFIX = "2001:db8:1b::"
SIZES = {"lb-small": 1, "lb-medium": 3, "lb-large": 6}
NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9.-]{0,254}")
TLS_ENTRY = ("https", "http2", "http3")
HEALTH_DEFAULTS = {
    "protocol": "http",
    "port": 80,
    "path": "/",
    "check_interval_seconds": 10,
    "response_timeout_seconds": 5,
    # DigitalOcean's effective defaults, as its examples show (the schema's `default`s swap these two).
    "healthy_threshold": 5,
    "unhealthy_threshold": 3,
}
HEALTH_RANGES = {
    "port": (1, 65535),
    "check_interval_seconds": (3, 300),
    "response_timeout_seconds": (3, 300),
    "healthy_threshold": (2, 10),
    "unhealthy_threshold": (2, 10),
}


def _int(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(422, f"{field} must be an integer from {low} to {high}, got {value!r}")
    return value


def _forwarding_rule(raw) -> dict:
    if not isinstance(raw, dict):
        raise ApiError(422, "each forwarding rule must be an object")
    entry, target = raw.get("entry_protocol"), raw.get("target_protocol")
    if entry not in ("http", "https", "http2", "http3", "tcp", "udp"):
        raise ApiError(422, f"entry_protocol must be one of http, https, http2, http3, tcp, udp; got {entry!r}")
    if target not in ("http", "https", "http2", "tcp", "udp"):
        raise ApiError(422, f"target_protocol must be one of http, https, http2, tcp, udp; got {target!r}")
    if (entry == "udp") != (target == "udp"):
        raise ApiError(422, f"UDP forwards only to UDP: entry_protocol {entry} with target_protocol {target}.")
    passthrough = bool(raw.get("tls_passthrough", False))
    certificate = raw.get("certificate_id") or ""
    if passthrough and (entry != "https" or target != "https" or certificate):
        raise ApiError(422, "tls_passthrough needs https to https and no certificate_id.")
    if entry in TLS_ENTRY and not passthrough and not certificate:
        raise ApiError(422, f"entry_protocol {entry} needs a certificate_id (or tls_passthrough for https).")
    return {
        "entry_protocol": entry,
        "entry_port": _int(raw.get("entry_port"), "entry_port", 1, 65535),
        "target_protocol": target,
        "target_port": _int(raw.get("target_port"), "target_port", 1, 65535),
        "certificate_id": certificate,
        "tls_passthrough": passthrough,
    }


def _forwarding_rules(raw) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise ApiError(422, "forwarding_rules must list at least one rule")
    rules = [_forwarding_rule(r) for r in raw]
    _check_entry_ports(rules)
    return rules


def _check_entry_ports(rules: list[dict]) -> None:
    seen = set()
    for rule in rules:
        key = (rule["entry_port"], rule["entry_protocol"] == "udp")
        if key in seen:
            raise ApiError(422, f"Two forwarding rules listen on entry_port {rule['entry_port']}.")
        seen.add(key)


def _health_check(raw) -> dict:
    check = {**HEALTH_DEFAULTS, **(raw or {})}
    if check["protocol"] not in ("http", "https", "tcp"):
        raise ApiError(422, f"health_check protocol must be http, https or tcp; got {check['protocol']!r}")
    for field, (low, high) in HEALTH_RANGES.items():
        _int(check[field], f"health_check {field}", low, high)
    return {k: check[k] for k in HEALTH_DEFAULTS}


def _sticky_sessions(raw) -> dict:
    raw = raw or {}
    kind = raw.get("type", "none")
    if kind == "none":
        return {"type": "none"}
    if kind != "cookies":
        raise ApiError(422, f"sticky_sessions type must be cookies or none; got {kind!r}")
    if not raw.get("cookie_name"):
        raise ApiError(422, "sticky_sessions of type cookies need a cookie_name")
    ttl = _int(raw.get("cookie_ttl_seconds"), "sticky_sessions cookie_ttl_seconds", 1, 2**31 - 1)
    return {"type": "cookies", "cookie_name": raw["cookie_name"], "cookie_ttl_seconds": ttl}


def _firewall(raw) -> dict:
    raw = raw or {}
    rules = {"deny": list(raw.get("deny") or []), "allow": list(raw.get("allow") or [])}
    for entry in rules["deny"] + rules["allow"]:
        kind, _, value = str(entry).partition(":")
        try:
            if kind == "ip":
                ipaddress.ip_address(value)
            elif kind == "cidr":
                ipaddress.ip_network(value, strict=False)
            else:
                raise ValueError(kind)
        except ValueError as exc:
            raise ApiError(422, f"firewall rule {entry!r} must look like 'ip:1.2.3.4' or 'cidr:1.2.0.0/16'") from exc
    return rules


def _size(body: dict) -> tuple[int, str | None]:
    size_unit = body.get("size_unit")
    size = body.get("size")
    if size is not None and size not in SIZES:
        raise ApiError(422, f"size must be one of {', '.join(SIZES)}; got {size!r}")
    if size_unit is None:
        size_unit = SIZES.get(size, 1)
    _int(size_unit, "size_unit", 1, 100)
    if size is not None and SIZES[size] != size_unit:
        raise ApiError(422, f"size {size} is {SIZES[size]} node(s) but size_unit says {size_unit}; send one of them.")
    return size_unit, next((s for s, n in SIZES.items() if n == size_unit), None)


def _backends(store, lb: dict, droplet_ids: list) -> list[int]:
    """Check the Droplets exist and sit where the load balancer can reach them."""
    for droplet_id in droplet_ids:
        droplet = store.get("droplets", droplet_id)
        if droplet is None:
            raise ApiError(422, f"Droplet {droplet_id} could not be found.")
        if droplet["region"]["slug"] != lb["_region"]:
            raise ApiError(
                422, f"Droplet {droplet_id} is in {droplet['region']['slug']}, the load balancer in {lb['_region']}."
            )
        if droplet.get("vpc_uuid") not in (None, lb["vpc_uuid"]):
            raise ApiError(422, f"Droplet {droplet_id} is not in the load balancer's VPC {lb['vpc_uuid']}.")
    return list(dict.fromkeys(droplet_ids))


def _settings(store, lb: dict, body: dict) -> dict:
    """Create and PUT: the whole configuration, defaults for what is not given.

    `lb` supplies where the load balancer is (region, VPC), to check its Droplets against.
    """
    name = body.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ApiError(422, f"Load balancer name {name!r} is invalid: letters, digits, '.' and '-', up to 255.")
    if "droplet_ids" in body and "tag" in body:
        raise ApiError(422, "droplet_ids and tag are mutually exclusive; send one of them.")
    idle = body.get("http_idle_timeout_seconds", 60)
    size_unit, size = _size(body)
    settings = {
        "name": name,
        "forwarding_rules": _forwarding_rules(body.get("forwarding_rules")),
        "health_check": _health_check(body.get("health_check")),
        "sticky_sessions": _sticky_sessions(body.get("sticky_sessions")),
        "redirect_http_to_https": bool(body.get("redirect_http_to_https", False)),
        "enable_proxy_protocol": bool(body.get("enable_proxy_protocol", False)),
        "enable_backend_keepalive": bool(body.get("enable_backend_keepalive", False)),
        "disable_lets_encrypt_dns_records": bool(body.get("disable_lets_encrypt_dns_records", False)),
        "http_idle_timeout_seconds": _int(idle, "http_idle_timeout_seconds", 30, 600),
        "firewall": _firewall(body.get("firewall")),
        "tls_cipher_policy": body.get("tls_cipher_policy", "DEFAULT"),
        "size_unit": size_unit,
        "tag": validate_tag_name(body["tag"]) if body.get("tag") else "",
    }
    if settings["tls_cipher_policy"] not in ("DEFAULT", "STRONG"):
        raise ApiError(422, "tls_cipher_policy must be DEFAULT or STRONG")
    settings["_droplet_ids"] = [] if settings["tag"] else _backends(store, lb, body.get("droplet_ids") or [])
    if size:
        settings["size"] = size
    return settings


def _apply(lb: dict, settings: dict) -> None:
    lb.pop("size", None)  # only shown while size_unit matches a named size
    lb.update(settings)


def _place(store, body: dict) -> dict:
    """Region, VPC and the settings that cannot change after creation."""
    region = require_region(body.get("region"))
    vpc_id = body.get("vpc_uuid")
    if vpc_id:
        vpc = store.get("vpcs", vpc_id)
        if vpc is None:
            raise ApiError(422, f"VPC {vpc_id} could not be found.")
        if vpc["region"] != region:
            raise ApiError(422, f"VPC {vpc_id} is in {vpc['region']}, not in {region}.")
    network, stack = body.get("network", "EXTERNAL"), body.get("network_stack", "IPV4")
    if network not in ("EXTERNAL", "INTERNAL") or stack not in ("IPV4", "DUALSTACK"):
        raise ApiError(422, "network must be EXTERNAL or INTERNAL; network_stack IPV4 or DUALSTACK")
    if body.get("type", "REGIONAL") != "REGIONAL":
        raise ApiError(422, f"Only REGIONAL load balancers are offered here, not {body['type']}.")
    return {
        "_region": region,
        "vpc_uuid": vpc_id or default_vpc(store, region)["id"],
        "network": network,
        "network_stack": stack,
        "type": "REGIONAL",
    }


def _reserve_ip(store, lb: dict) -> str:
    """The address the load balancer shows once active: public, or for INTERNAL ones from the top of its VPC."""
    if lb["network"] == "INTERNAL":
        pool = reversed(list(ipaddress.ip_network(store.get("vpcs", lb["vpc_uuid"])["ip_range"]).hosts()))
    else:
        pool = ADDRESSES.hosts()
    taken = {other["_ip"] for other in store.all("load_balancers")}
    for host in pool:
        if str(host) not in taken:
            return str(host)
    raise ApiError(422, "No addresses are left for another load balancer here.")


def _find(store, lb_id: str) -> dict:
    lb = store.get("load_balancers", lb_id)
    if lb is None:
        raise not_found("load balancer")
    return lb


def _droplet_ids(store, lb: dict) -> list[int]:
    if lb["tag"]:
        return [
            d["id"]
            for d in store.all("droplets")
            if lb["tag"] in (d.get("tags") or []) and d["region"]["slug"] == lb["_region"]
        ]
    return [i for i in lb["_droplet_ids"] if store.get("droplets", i) is not None]


def _view(store, lb: dict) -> dict:
    view = {k: v for k, v in lb.items() if not k.startswith("_")}
    view["region"] = region_object(lb["_region"])
    view["droplet_ids"] = _droplet_ids(store, lb)
    view["project_id"] = project_of(store, urn("loadbalancer", lb["id"]))
    return view


def _activate(lb: dict):
    def effect():
        lb.update(status="active", ip=lb["_ip"])
        if lb["network_stack"] == "DUALSTACK" and lb["network"] == "EXTERNAL":
            lb["ipv6"] = f"{IPV6_PREFIX}{int(ipaddress.ip_address(lb['ip'])) & 0xFF:x}"

    return effect


def _rule_key(rule: dict) -> tuple:
    return rule["entry_protocol"], rule["entry_port"], rule["target_protocol"], rule["target_port"]


def register(api):
    @api.route("/v2/load_balancers", methods=["GET"])
    def list_load_balancers(ctx):
        return 200, ctx.paginate([_view(ctx.store, lb) for lb in ctx.store.all("load_balancers")], "load_balancers")

    @api.route("/v2/load_balancers", methods=["POST"])
    def create_load_balancer(ctx):
        body = ctx.json
        project = require_project(ctx.store, body.get("project_id"))
        lb = {"id": new_uuid(), "ip": "", "status": "new", "created_at": now_iso(), "algorithm": "round_robin"}
        lb.update(_place(ctx.store, body))
        _apply(lb, _settings(ctx.store, lb, body))
        lb["_ip"] = _reserve_ip(ctx.store, lb)
        ctx.store.put("load_balancers", lb["id"], lb)
        assign_to_project(ctx.store, urn("loadbalancer", lb["id"]), project["id"])
        ctx.store.schedule(ctx.config.delay_action, _activate(lb))
        return 202, {"load_balancer": _view(ctx.store, lb)}

    @api.route("/v2/load_balancers/<lb_id>", methods=["GET"])
    def get_load_balancer(ctx, lb_id):
        return 200, {"load_balancer": _view(ctx.store, _find(ctx.store, lb_id))}

    @api.route("/v2/load_balancers/<lb_id>", methods=["PUT"])
    def update_load_balancer(ctx, lb_id):
        lb = _find(ctx.store, lb_id)
        body = ctx.json
        if body.get("region") not in (None, lb["_region"]):
            raise ApiError(422, f"A load balancer cannot move regions ({lb['_region']} to {body['region']}).")
        for field in ("network", "network_stack", "vpc_uuid"):
            if body.get(field) not in (None, lb[field]):
                raise ApiError(422, f"{field} cannot be changed after the load balancer is created.")
        if body.get("project_id"):
            require_project(ctx.store, body["project_id"])
        _apply(lb, _settings(ctx.store, lb, body))
        if body.get("project_id"):
            assign_to_project(ctx.store, urn("loadbalancer", lb_id), body["project_id"])
        return 200, {"load_balancer": _view(ctx.store, lb)}

    @api.route("/v2/load_balancers/<lb_id>", methods=["DELETE"])
    def delete_load_balancer(ctx, lb_id):
        _find(ctx.store, lb_id)
        ctx.store.delete("load_balancers", lb_id)
        return 204, None

    @api.route("/v2/load_balancers/<lb_id>/droplets", methods=["POST", "DELETE"])
    def load_balancer_droplets(ctx, lb_id):
        lb = _find(ctx.store, lb_id)
        ids = ctx.json.get("droplet_ids")
        if not isinstance(ids, list) or not ids:
            raise ApiError(422, "droplet_ids must be a non-empty list of Droplet ids")
        if lb["tag"]:
            raise ApiError(422, f"This load balancer takes its Droplets from tag '{lb['tag']}'; tag Droplets instead.")
        if ctx.request.method == "POST":
            lb["_droplet_ids"] = _backends(ctx.store, lb, lb["_droplet_ids"] + ids)
        else:
            lb["_droplet_ids"] = [i for i in lb["_droplet_ids"] if i not in ids]
        return 204, None

    @api.route("/v2/load_balancers/<lb_id>/forwarding_rules", methods=["POST", "DELETE"])
    def load_balancer_rules(ctx, lb_id):
        lb = _find(ctx.store, lb_id)
        given = [_forwarding_rule(r) for r in ctx.json.get("forwarding_rules") or []]
        if not given:
            raise ApiError(422, "forwarding_rules must list at least one rule")
        if ctx.request.method == "POST":
            keys = {_rule_key(r) for r in lb["forwarding_rules"]}
            rules = lb["forwarding_rules"] + [r for r in given if _rule_key(r) not in keys]
            _check_entry_ports(rules)
        else:
            gone = {_rule_key(r) for r in given}
            rules = [r for r in lb["forwarding_rules"] if _rule_key(r) not in gone]
            if not rules:
                raise ApiError(422, "A load balancer needs at least one forwarding rule; this would remove them all.")
        lb["forwarding_rules"] = rules
        return 204, None
