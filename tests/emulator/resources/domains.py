"""Domains (`/v2/domains`) and their records (`/v2/domains/{name}/records`).

A new domain gets what DigitalOcean gives it: an SOA record and NS records for
ns1-3.digitalocean.com (plus an A record for `@` when `ip_address` is given).
Records are stored as the API shows them: `name` relative to the domain (`@`
for the apex), host names in `data` without their final dot (`@` for the
apex), fields a type does not use `null`. Every change is handed to the DNS
backend (`sync_domain`), which serves exactly the domain's records.
"""

from __future__ import annotations

import ipaddress
import re
import time

from ..errors import ApiError, not_found
from ..store import now_iso
from ._shared import urn
from .projects import assign_to_default_project

DEFAULT_TTL = 1800
MIN_TTL = 30
NAMESERVERS = ("ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com")
TYPES = ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT")
HOST_TYPES = ("CNAME", "MX", "NS", "SRV")  # whose data is a host name
CAA_TAGS = ("issue", "issuewild", "iodef")
# What each type needs beyond `type` (MX may leave `name` out: it then names the apex).
REQUIRED = {
    "A": ("name", "data"),
    "AAAA": ("name", "data"),
    "CAA": ("name", "data", "flags", "tag"),
    "CNAME": ("name", "data"),
    "MX": ("data", "priority"),
    "NS": ("name", "data"),
    "SRV": ("name", "data", "priority", "port", "weight"),
    "TXT": ("name", "data"),
}
FIELDS = ("id", "type", "name", "data", "priority", "port", "ttl", "weight", "flags", "tag")
LABEL = r"(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)"
RECORD_NAME = re.compile(rf"{LABEL}(\.{LABEL})*", re.IGNORECASE)
DOMAIN_NAME = re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


# -- domains ---------------------------------------------------------------------
def _find_domain(store, name: str) -> dict:
    domain = store.get("domains", name.lower().rstrip("."))
    if domain is None:
        raise not_found("domain")
    return domain


def _records(store, domain: dict) -> list[dict]:
    return sorted((r for r in store.all("domain_records") if r["_domain"] == domain["name"]), key=lambda r: r["id"])


def _public(record: dict) -> dict:
    return {k: record[k] for k in FIELDS}


def _fqdn(domain: str, name: str) -> str:
    return f"{domain}." if name == "@" else f"{name}.{domain}."


def _zone_file(store, domain: dict) -> str:
    name = domain["name"]
    lines = [
        f"$ORIGIN {name}.",
        f"$TTL {domain['ttl']}",
        f"{name}. IN SOA {NAMESERVERS[0]}. hostmaster.{name}. {domain['_serial']} 10800 3600 604800 1800",
    ]
    for r in _records(store, domain):
        if r["type"] == "SOA":
            continue
        target = _fqdn(name, "@") if r["data"] == "@" else f"{r['data']}."
        value = {
            "CNAME": target,
            "NS": target,
            "MX": f"{r['priority']} {target}",
            "SRV": f"{r['priority']} {r['weight']} {r['port']} {target}",
            "TXT": f'"{r["data"]}"',
            "CAA": f'{r["flags"]} {r["tag"]} "{r["data"]}"',
        }.get(r["type"], r["data"])
        lines.append(f"{_fqdn(name, r['name'])} {r['ttl']} IN {r['type']} {value}")
    return "\n".join(lines) + "\n"


def _domain_view(store, domain: dict, zone_file: bool = True) -> dict:
    return {"name": domain["name"], "ttl": domain["ttl"], "zone_file": _zone_file(store, domain) if zone_file else None}


def _changed(ctx, domain: dict) -> None:
    domain["_serial"] = max(domain["_serial"] + 1, int(time.time()))
    ctx.backends.dns.sync_domain(domain["name"], [_public(r) for r in _records(ctx.store, domain)])


# -- records ---------------------------------------------------------------------
def _host(domain: str, value, field: str) -> str:
    """A host name in `data`: absolute (final dot) or `@`; stored without the dot, the apex as `@`."""
    if value == "@":
        return "@"
    if not isinstance(value, str) or not value.endswith("."):
        raise ApiError(422, f"Data needs to end with a dot (.): {field} {value!r} must be a fully qualified name or @")
    host = value[:-1].lower()
    if not RECORD_NAME.fullmatch(host):
        raise ApiError(422, f"{field} {value!r} is not a valid host name")
    return "@" if host == domain else host


def _name(domain: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise ApiError(422, "name must not be empty (use @ for the domain itself)")
    if value == "@" or value.lower().rstrip(".") == domain:
        return "@"
    if value.endswith(f".{domain}."):  # a fully qualified name inside the domain
        value = value[: -len(domain) - 2]
    if len(value) > 253 or not RECORD_NAME.fullmatch(value):
        raise ApiError(422, f"Name {value!r} is invalid: use letters, digits, '-', '_' and '*' labels, or @.")
    return value


def _int(record: dict, field: str, low: int, high: int) -> int:
    value = record.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(422, f"{field} must be an integer from {low} to {high}, got {value!r}")
    return value


def _validate(domain: str, record: dict) -> dict:
    """The record in normal form, or 422 naming what is wrong with it."""
    rtype = record.get("type")
    if rtype not in TYPES:
        raise ApiError(422, f"Record type {rtype!r} is not supported; use one of {', '.join(TYPES)}.")
    missing = [f for f in REQUIRED.get(rtype, ()) if record.get(f) is None]
    if missing:
        raise ApiError(422, f"{rtype} records need {', '.join(missing)}")
    ttl = record.get("ttl")
    ttl = DEFAULT_TTL if ttl is None else ttl
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < MIN_TTL:
        raise ApiError(422, f"TTL must be an integer of at least {MIN_TTL} seconds, got {ttl!r}")
    normal = {f: None for f in FIELDS if f != "id"}
    normal.update(type=rtype, ttl=ttl, name=_name(domain, record.get("name") or ("@" if rtype == "MX" else None)))
    data = record.get("data")
    if rtype == "SOA":
        normal["data"] = str(DEFAULT_TTL)
        return normal
    if not isinstance(data, str) or not data:
        raise ApiError(422, f"{rtype} records need data")
    if rtype in ("A", "AAAA"):
        version = 4 if rtype == "A" else 6
        try:
            address = ipaddress.ip_address(data)
        except ValueError:
            address = None
        if address is None or address.version != version:
            raise ApiError(422, f"{rtype} record data must be an IPv{version} address, got {data!r}")
        normal["data"] = str(address)
    elif rtype in HOST_TYPES:
        normal["data"] = _host(domain, data, "data")
    else:
        normal["data"] = data
    if rtype in ("MX", "SRV"):
        normal["priority"] = _int(record, "priority", 0, 65535)
    if rtype == "SRV":
        normal["port"] = _int(record, "port", 1, 65535)
        normal["weight"] = _int(record, "weight", 0, 65535)
    if rtype == "CAA":
        normal["flags"] = _int(record, "flags", 0, 255)
        if record.get("tag") not in CAA_TAGS:
            raise ApiError(422, f"CAA tag must be one of {', '.join(CAA_TAGS)}, got {record.get('tag')!r}")
        normal["tag"] = record["tag"]
    if rtype == "CNAME" and normal["name"] == "@":
        raise ApiError(422, "A CNAME record cannot be created for the domain apex (@).")
    return normal


def _check_cname_conflicts(store, domain: dict, record: dict, record_id=None) -> None:
    """A name with a CNAME can have no other record, as DNS requires."""
    for other in _records(store, domain):
        if other["id"] == record_id or other["name"] != record["name"]:
            continue
        if "CNAME" in (record["type"], other["type"]):
            raise ApiError(
                422,
                f"{record['type']} record '{record['name']}' conflicts with the {other['type']} record of that name: "
                "a CNAME cannot share its name with any other record.",
            )


def _new_record(store, domain: dict, normal: dict) -> dict:
    record_id = store.next_id("domain_records", start=28448000)
    return store.put("domain_records", record_id, {"id": record_id, **normal, "_domain": domain["name"]})


def _find_record(store, domain: dict, record_id: int) -> dict:
    record = store.get("domain_records", record_id)
    if record is None or record["_domain"] != domain["name"]:
        raise not_found("domain record")
    return record


def register(api):
    @api.route("/v2/domains", methods=["GET"])
    def list_domains(ctx):
        domains = sorted(ctx.store.all("domains"), key=lambda d: d["name"])
        return 200, ctx.paginate([_domain_view(ctx.store, d) for d in domains], "domains")

    @api.route("/v2/domains", methods=["POST"])
    def create_domain(ctx):
        body = ctx.json
        name = str(body.get("name") or "").lower().rstrip(".")
        if len(name) > 253 or not DOMAIN_NAME.fullmatch(name):
            raise ApiError(422, f"Name {body.get('name')!r} is invalid: use a domain name such as example.com.")
        if ctx.store.get("domains", name):
            raise ApiError(422, f"Domain '{name}' already exists in this account.")
        records = [{"type": "SOA", "name": "@", "ttl": DEFAULT_TTL}]
        records += [{"type": "NS", "name": "@", "data": f"{ns}."} for ns in NAMESERVERS]
        if body.get("ip_address"):
            records.append({"type": "A", "name": "@", "data": body["ip_address"]})
        normal = [_validate(name, r) for r in records]  # a bad ip_address leaves nothing behind
        domain = {"name": name, "ttl": DEFAULT_TTL, "created_at": now_iso(), "_serial": int(time.time())}
        ctx.store.put("domains", name, domain)
        for record in normal:
            _new_record(ctx.store, domain, record)
        assign_to_default_project(ctx.store, urn("domain", name))
        _changed(ctx, domain)
        return 201, {"domain": _domain_view(ctx.store, domain, zone_file=False)}

    @api.route("/v2/domains/<name>", methods=["GET"])
    def get_domain(ctx, name):
        return 200, {"domain": _domain_view(ctx.store, _find_domain(ctx.store, name))}

    @api.route("/v2/domains/<name>", methods=["DELETE"])
    def delete_domain(ctx, name):
        domain = _find_domain(ctx.store, name)
        for record in _records(ctx.store, domain):
            ctx.store.delete("domain_records", record["id"])
        ctx.store.delete("domains", domain["name"])
        ctx.backends.dns.remove_domain(domain["name"])
        return 204, None

    @api.route("/v2/domains/<name>/records", methods=["GET"])
    def list_records(ctx, name):
        domain = _find_domain(ctx.store, name)
        records = _records(ctx.store, domain)
        if ctx.query.get("name"):
            wanted = ctx.query["name"].lower().rstrip(".") + "."
            records = [r for r in records if _fqdn(domain["name"], r["name"]).lower() == wanted]
        if ctx.query.get("type"):
            records = [r for r in records if r["type"] == ctx.query["type"]]
        return 200, ctx.paginate([_public(r) for r in records], "domain_records")

    @api.route("/v2/domains/<name>/records", methods=["POST"])
    def create_record(ctx, name):
        domain = _find_domain(ctx.store, name)
        normal = _validate(domain["name"], ctx.json)
        if normal["type"] == "SOA":
            raise ApiError(422, "A domain has exactly one SOA record, created with it; update that one instead.")
        _check_cname_conflicts(ctx.store, domain, normal)
        record = _new_record(ctx.store, domain, normal)
        _changed(ctx, domain)
        return 201, {"domain_record": _public(record)}

    @api.route("/v2/domains/<name>/records/<int:record_id>", methods=["GET"])
    def get_record(ctx, name, record_id):
        domain = _find_domain(ctx.store, name)
        return 200, {"domain_record": _public(_find_record(ctx.store, domain, record_id))}

    @api.route("/v2/domains/<name>/records/<int:record_id>", methods=["PUT", "PATCH"])
    def update_record(ctx, name, record_id):
        domain = _find_domain(ctx.store, name)
        record = _find_record(ctx.store, domain, record_id)
        body = ctx.json
        if body.get("type", record["type"]) != record["type"]:
            raise ApiError(422, f"A record's type cannot be changed ({record['type']} to {body['type']}).")
        merged = {**_public(record), **{k: v for k, v in body.items() if k in FIELDS and k != "id"}}
        if record["type"] in HOST_TYPES and merged["data"] == record["data"]:
            merged["data"] = f"{domain['name']}." if record["data"] == "@" else f"{record['data']}."
        normal = _validate(domain["name"], merged)
        _check_cname_conflicts(ctx.store, domain, normal, record_id)
        record.update(normal)
        _changed(ctx, domain)
        return 200, {"domain_record": _public(record)}

    @api.route("/v2/domains/<name>/records/<int:record_id>", methods=["DELETE"])
    def delete_record(ctx, name, record_id):
        domain = _find_domain(ctx.store, name)
        record = _find_record(ctx.store, domain, record_id)
        if record["type"] == "SOA":
            raise ApiError(422, "The SOA record of a domain cannot be deleted.")
        ctx.store.delete("domain_records", record_id)
        _changed(ctx, domain)
        return 204, None
