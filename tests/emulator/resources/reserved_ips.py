"""Reserved IPs (`/v2/reserved_ips`) and their assign/unassign actions.

An IP is created reserved to a region, or for a Droplet (then an `assign_ip`
action moves it onto the Droplet, and the IP shows `locked` and no Droplet
until the action completes, as on DigitalOcean). Addresses come from the
documentation ranges (203.0.113.0/24, then 192.0.2.0/24), unique in the
account; the account's `floating_ip_limit` applies. A deleted Droplet leaves
its reserved IP unassigned.
"""

from __future__ import annotations

import ipaddress

from ..errors import ApiError, not_found
from ._shared import urn
from .account import ACCOUNT
from .actions import actions_for, start_action
from .catalog import region_object, require_region
from .droplets import droplet_view
from .projects import assign_to_project, project_of, require_project

POOLS = (ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_network("192.0.2.0/24"))


def _allocate(store) -> str:
    taken = {r["ip"] for r in store.all("reserved_ips")}
    if len(taken) >= ACCOUNT["floating_ip_limit"]:
        raise ApiError(
            422, f"You have reached your reserved IP limit ({ACCOUNT['floating_ip_limit']}); delete one first."
        )
    for pool in POOLS:
        for host in pool.hosts():
            if str(host) not in taken:
                return str(host)
    raise ApiError(422, "No reserved IP addresses are left to allocate.")


def _find(store, ip: str) -> dict:
    reserved = store.get("reserved_ips", ip)
    if reserved is None:
        raise not_found("reserved IP")
    return reserved


def _droplet_of(store, reserved: dict) -> dict | None:
    droplet_id = reserved["_droplet_id"]
    return store.get("droplets", droplet_id) if droplet_id is not None else None


def _view(store, reserved: dict) -> dict:
    droplet = _droplet_of(store, reserved)
    return {
        "ip": reserved["ip"],
        "region": region_object(reserved["_region"]),
        "droplet": droplet_view(store, droplet) if droplet else None,
        "locked": reserved["locked"],
        "project_id": project_of(store, urn("floatingip", reserved["ip"])),
    }


def _droplet_for(store, reserved: dict, droplet_id) -> dict:
    """The Droplet an IP may be assigned to: same region, holding no other reserved IP."""
    droplet = store.get("droplets", droplet_id)
    if droplet is None:
        raise ApiError(422, f"Droplet {droplet_id} could not be found.")
    region = droplet["region"]["slug"]
    if reserved.get("_region") not in (None, region):
        raise ApiError(
            422, f"Reserved IP {reserved['ip']} is in {reserved['_region']}; Droplet {droplet_id} is in {region}."
        )
    for other in store.all("reserved_ips"):
        if other is not reserved and _droplet_of(store, other) is droplet:
            raise ApiError(422, f"Droplet {droplet_id} already has reserved IP {other['ip']} assigned.")
    return droplet


def _move(ctx, reserved: dict, action_type: str, droplet_id: int | None) -> dict:
    """Lock the IP and start the action that assigns (or, with None, unassigns) it."""

    def done():
        reserved.update(_droplet_id=droplet_id, locked=False)

    reserved["locked"] = True
    return start_action(
        ctx,
        action_type,
        int(ipaddress.ip_address(reserved["ip"])),
        "reserved_ip",
        reserved["_region"],
        effect=done,
        on_error=lambda: reserved.update(locked=False),
    )


def _action_body(ctx, reserved: dict, action: dict) -> dict:
    return {**action, "project_id": project_of(ctx.store, urn("floatingip", reserved["ip"]))}


def register(api):
    @api.route("/v2/reserved_ips", methods=["GET"])
    def list_reserved_ips(ctx):
        return 200, ctx.paginate([_view(ctx.store, r) for r in ctx.store.all("reserved_ips")], "reserved_ips")

    @api.route("/v2/reserved_ips", methods=["POST"])
    def create_reserved_ip(ctx):
        body = ctx.json
        droplet_id, region = body.get("droplet_id"), body.get("region")
        if (droplet_id is None) == (region is None):
            raise ApiError(422, "Give either droplet_id (assign to a Droplet) or region (reserve to a region).")
        project = require_project(ctx.store, body.get("project_id"))
        reserved = {"ip": None, "_region": None, "_droplet_id": None, "locked": False}
        if droplet_id is None:
            reserved["_region"] = require_region(region)
        else:
            reserved["_region"] = _droplet_for(ctx.store, reserved, droplet_id)["region"]["slug"]
        reserved["ip"] = _allocate(ctx.store)
        ctx.store.put("reserved_ips", reserved["ip"], reserved)
        assign_to_project(ctx.store, urn("floatingip", reserved["ip"]), project["id"])
        links = {}
        if droplet_id is not None:
            action = _move(ctx, reserved, "assign_ip", droplet_id)
            links = {
                "droplets": [{"id": droplet_id, "rel": "droplet", "href": f"{ctx.base_url}/v2/droplets/{droplet_id}"}],
                "actions": [
                    {"id": action["id"], "rel": "assign_ip", "href": f"{ctx.base_url}/v2/actions/{action['id']}"}
                ],
            }
        return 202, {"reserved_ip": _view(ctx.store, reserved), "links": links}

    @api.route("/v2/reserved_ips/<ip>", methods=["GET"])
    def get_reserved_ip(ctx, ip):
        return 200, {"reserved_ip": _view(ctx.store, _find(ctx.store, ip))}

    @api.route("/v2/reserved_ips/<ip>", methods=["DELETE"])
    def delete_reserved_ip(ctx, ip):
        _find(ctx.store, ip)
        ctx.store.delete("reserved_ips", ip)
        return 204, None

    @api.route("/v2/reserved_ips/<ip>/actions", methods=["GET"])
    def list_actions(ctx, ip):
        reserved = _find(ctx.store, ip)
        return 200, ctx.paginate(actions_for(ctx, "reserved_ip", int(ipaddress.ip_address(reserved["ip"]))), "actions")

    @api.route("/v2/reserved_ips/<ip>/actions", methods=["POST"])
    def post_action(ctx, ip):
        reserved = _find(ctx.store, ip)
        body = ctx.json
        if reserved["locked"]:
            raise ApiError(422, f"Reserved IP {ip} has an action in progress; wait for it to complete.")
        if body.get("type") == "assign":
            if body.get("droplet_id") is None:
                raise ApiError(422, "assign needs droplet_id")
            droplet = _droplet_for(ctx.store, reserved, body["droplet_id"])
            action = _move(ctx, reserved, "assign_ip", droplet["id"])
        elif body.get("type") == "unassign":
            if _droplet_of(ctx.store, reserved) is None:
                raise ApiError(422, f"Reserved IP {ip} is not assigned to a Droplet.")
            action = _move(ctx, reserved, "unassign_ip", None)
        else:
            raise ApiError(422, f"Action type must be assign or unassign, got {body.get('type')!r}")
        return 201, {"action": _action_body(ctx, reserved, action)}

    @api.route("/v2/reserved_ips/<ip>/actions/<int:action_id>", methods=["GET"])
    def get_action(ctx, ip, action_id):
        reserved = _find(ctx.store, ip)
        action = ctx.store.get("actions", action_id)
        if (
            action is None
            or action["resource_type"] != "reserved_ip"
            or action["resource_id"] != int(ipaddress.ip_address(reserved["ip"]))
        ):
            raise not_found("action")
        return 200, {"action": _action_body(ctx, reserved, action)}
