"""Helpers several resource families share (store tables, default VPCs, URNs, tags).

Store tables (kind -> {str(key): resource}), one owner each:
    ssh_keys, images, actions (account/catalog/actions)
    droplets, backup_policies, droplet_snapshots, volumes, volume_actions, volume_snapshots, tags (compute)
    vpcs, firewalls, domains, domain_records, reserved_ips, load_balancers, projects,
    project_resources (networking)
    database_clusters, spaces_keys (databases/storage)
A family reads another family's table through these helpers or directly, but
only the owner writes it -- except the default VPC and default project, which
exist from the first resource that needs them, as on DigitalOcean, and the
`tags` list of a record tagged through `/v2/tags/{tag}/resources`.
"""

from __future__ import annotations

import ipaddress

from ..errors import ApiError, not_found
from ..store import new_uuid, now_iso


def urn(kind: str, resource_id) -> str:
    """DigitalOcean resource names: do:droplet:123, do:volume:<uuid>, do:dbaas:<uuid>, ..."""
    return f"do:{kind}:{resource_id}"


def _next_default_range(store) -> str:
    """A /20 in 10.0.0.0/8 that overlaps no VPC of the account (DigitalOcean's default size).

    A real backing may hook the choice (`store.vpc_range_hint`: a callable giving a start
    offset among the candidates and the ranges taken outside this emulator): the docker
    backing skips the networks other emulators on the same engine hold and starts each
    instance elsewhere, so emulators running side by side do not pick the same range."""
    taken = [ipaddress.ip_network(v["ip_range"]) for v in store.all("vpcs")]
    candidates = list(ipaddress.ip_network("10.100.0.0/14").subnets(new_prefix=20))
    hint = getattr(store, "vpc_range_hint", None)
    if hint is not None:
        offset, elsewhere = hint()
        taken += elsewhere
        candidates = candidates[offset % len(candidates) :] + candidates[: offset % len(candidates)]
    for candidate in candidates:
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    raise ApiError(422, "no free private range left for a new VPC")


def new_vpc(store, name: str, region: str, ip_range: str | None = None, description: str = "", default=False) -> dict:
    vpc_id = new_uuid()
    vpc = {
        "id": vpc_id,
        "urn": urn("vpc", vpc_id),
        "name": name,
        "description": description,
        "region": region,
        "ip_range": ip_range or _next_default_range(store),
        "default": default,
        "created_at": now_iso(),
    }
    return store.put("vpcs", vpc_id, vpc)


def default_vpc(store, region: str) -> dict:
    """The region's default VPC, created on first need like DigitalOcean's."""
    for vpc in store.all("vpcs"):
        if vpc["region"] == region and vpc["default"]:
            return vpc
    return new_vpc(store, f"default-{region}", region, default=True)


def find_vpc(store, vpc_id: str) -> dict:
    vpc = store.get("vpcs", vpc_id)
    if vpc is None:
        raise not_found("VPC")
    return vpc


def find_droplet(store, droplet_id) -> dict:
    droplet = store.get("droplets", droplet_id)
    if droplet is None:
        raise not_found("droplet")
    return droplet


def ensure_tags(store, names: list[str]) -> None:
    """Tags named on a resource exist as tag records (DigitalOcean creates them implicitly)."""
    table = store.table("tags")
    for name in names:
        if name not in table:
            table[name] = {"name": name, "created_at": now_iso()}


def validate_tag_name(name: str) -> str:
    import re

    if not isinstance(name, str) or not re.fullmatch(r"[a-zA-Z0-9_\-:]{1,255}", name):
        raise ApiError(
            422,
            f"Tag name '{name}' is invalid: use letters, numbers, colons, dashes and underscores, up to 255 characters.",
        )
    return name
