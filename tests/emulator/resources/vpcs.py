"""VPC networks (`/v2/vpcs`) and their members.

The first VPC of a region becomes its default (as does the one DigitalOcean
makes when a resource first needs it, `_shared.default_vpc`); the default can
be moved to another VPC of the region but never unset or deleted. Members are
read from the families that place resources in VPCs: droplets and load
balancers (`vpc_uuid`) and database clusters (`private_network_uuid`).
"""

from __future__ import annotations

import ipaddress

from ..errors import ApiError
from ..store import now_iso
from ._shared import find_vpc, new_vpc, urn
from .catalog import require_region

PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
# (table, field naming the VPC, URN kind, aliases accepted by ?resource_type=)
MEMBER_SOURCES = (
    ("droplets", "vpc_uuid", "droplet", {"droplet", "droplets"}),
    ("load_balancers", "vpc_uuid", "loadbalancer", {"loadbalancer", "load_balancer", "load_balancers"}),
    ("database_clusters", "private_network_uuid", "dbaas", {"dbaas", "database", "databases"}),
)


def members(store, vpc_id: str, resource_type: str | None = None) -> list[dict]:
    found = []
    for table, field, kind, aliases in MEMBER_SOURCES:
        if resource_type and resource_type not in aliases:
            continue
        for resource in store.all(table):
            if resource.get(field) == vpc_id:
                found.append(
                    {
                        "urn": urn(kind, resource["id"]),
                        "name": resource.get("name", ""),
                        "created_at": resource.get("created_at") or now_iso(),
                    }
                )
    return sorted(found, key=lambda m: m["created_at"])


def _check_name(store, name, vpc_id=None) -> str:
    if not isinstance(name, str) or not name:
        raise ApiError(422, "name is required")
    if any(v["name"] == name and v["id"] != vpc_id for v in store.all("vpcs")):
        raise ApiError(422, f"A VPC named '{name}' already exists; VPC names must be unique.")
    return name


def _check_range(store, text) -> str:
    try:
        network = ipaddress.ip_network(text)
    except (TypeError, ValueError) as exc:
        raise ApiError(422, f"ip_range '{text}' is not a valid CIDR network address (e.g. 10.10.10.0/24).") from exc
    if not any(network.subnet_of(p) for p in PRIVATE if p.version == network.version):
        raise ApiError(422, f"ip_range {network} must lie in RFC1918 private space (10/8, 172.16/12, 192.168/16).")
    if not 16 <= network.prefixlen <= 28:
        raise ApiError(422, f"ip_range {network} must be between /16 and /28.")
    for vpc in store.all("vpcs"):
        if network.overlaps(ipaddress.ip_network(vpc["ip_range"])):
            raise ApiError(422, f"ip_range {network} overlaps {vpc['ip_range']} of VPC '{vpc['name']}'.")
    return str(network)


def _make_default(store, vpc: dict) -> None:
    for other in store.all("vpcs"):
        if other["region"] == vpc["region"]:
            other["default"] = other is vpc


def register(api):
    @api.route("/v2/vpcs", methods=["GET"])
    def list_vpcs(ctx):
        return 200, ctx.paginate(ctx.store.all("vpcs"), "vpcs")

    @api.route("/v2/vpcs", methods=["POST"])
    def create_vpc(ctx):
        body = ctx.json
        name = _check_name(ctx.store, body.get("name"))
        region = require_region(body.get("region"))
        ip_range = _check_range(ctx.store, body["ip_range"]) if body.get("ip_range") else None
        description = body.get("description", "")
        first = not any(v["region"] == region for v in ctx.store.all("vpcs"))
        vpc = new_vpc(ctx.store, name, region, ip_range, description, default=first)
        return 201, {"vpc": vpc}

    @api.route("/v2/vpcs/<vpc_id>", methods=["GET"])
    def get_vpc(ctx, vpc_id):
        return 200, {"vpc": find_vpc(ctx.store, vpc_id)}

    @api.route("/v2/vpcs/<vpc_id>", methods=["PUT", "PATCH"])
    def update_vpc(ctx, vpc_id):
        vpc = find_vpc(ctx.store, vpc_id)
        body = ctx.json
        if ctx.request.method == "PUT" and "name" not in body:
            raise ApiError(422, "name is required")
        if "default" in body and not body["default"] and vpc["default"]:
            raise ApiError(
                422, "The default VPC of a region cannot be unset; make another VPC of the region the default."
            )
        if "name" in body:
            vpc["name"] = _check_name(ctx.store, body["name"], vpc_id)
        if "description" in body:
            vpc["description"] = body["description"]
        if body.get("default"):
            _make_default(ctx.store, vpc)
        return 200, {"vpc": vpc}

    @api.route("/v2/vpcs/<vpc_id>", methods=["DELETE"])
    def delete_vpc(ctx, vpc_id):
        vpc = find_vpc(ctx.store, vpc_id)
        if vpc["default"]:
            raise ApiError(403, "The default VPC of a region cannot be deleted.")
        if members(ctx.store, vpc_id):
            raise ApiError(403, "This VPC still has member resources; move or delete them before deleting the VPC.")
        ctx.store.delete("vpcs", vpc_id)
        return 204, None

    @api.route("/v2/vpcs/<vpc_id>/members", methods=["GET"])
    def list_members(ctx, vpc_id):
        find_vpc(ctx.store, vpc_id)
        return 200, ctx.paginate(members(ctx.store, vpc_id, ctx.query.get("resource_type")), "members")
