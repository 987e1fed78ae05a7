"""Droplets: create (one or up to ten), list, get, delete, their sub-resources, actions and backup policies.

A droplet is `new`, with empty networks, until its create action completes:
after `EMULATOR_DELAY_DROPLET` seconds and once the compute backend reports
its networks it is `active`. Every other action changes the droplet only when
it completes (an `errored` one not at all), and a droplet with an action in
progress refuses another ("Droplet already has a pending event."), as on
DigitalOcean. Backup policies live in the `backup_policies` table (droplet id
-> policy): present means backups are on. No backup is ever taken -- the
windows lie in the future -- so `backup_ids` stays empty.
"""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..errors import ApiError
from ..store import now_iso
from ._shared import default_vpc, ensure_tags, find_droplet, validate_tag_name
from .account import ACCOUNT, find_key
from .actions import actions_for, start_action
from .catalog import REGION_NAMES, add_snapshot, find_image, region_object, require_size
from .volumes import attach, check_attachable, release_volumes

DROPLET_ID_START = 500000000
MAX_NAMES = 10
USER_DATA_LIMIT = 64 * 1024
NAME = re.compile(r"[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]")
REGION_PREFIX = re.compile(r"[a-z]{3}")  # "nyc": any New York datacenter
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # in datetime.weekday() order
BACKUP_HOURS = (0, 4, 8, 12, 16, 20)
RETENTION_DAYS = {"daily": 7, "weekly": 28}
WINDOW_HOURS = 4
TAG_ACTIONS = (
    "power_cycle",
    "power_on",
    "power_off",
    "shutdown",
    "enable_ipv6",
    "enable_backups",
    "disable_backups",
    "snapshot",
)
POWERED_ON = "Droplet is currently on. Please power it off to run this event."
PENDING = "Droplet already has a pending event."


# -- backup policies ------------------------------------------------------------------------
def _policy(requested: dict | None) -> dict:
    """A complete policy from a request's partial one (DigitalOcean: daily unless told otherwise)."""
    requested = requested or {}
    plan, hour = requested.get("plan", "daily"), requested.get("hour", 0)
    if plan not in RETENTION_DAYS:
        raise ApiError(422, f"Backup plan must be daily or weekly, not {plan!r}.")
    if hour not in BACKUP_HOURS:
        raise ApiError(422, f"Backup hour must be one of {', '.join(map(str, BACKUP_HOURS))}, not {hour!r}.")
    policy = {"plan": plan, "hour": hour}
    if plan == "weekly":
        weekday = requested.get("weekday", "SUN")
        if weekday not in WEEKDAYS:
            raise ApiError(422, f"Backup weekday must be one of {', '.join(WEEKDAYS)}, not {weekday!r}.")
        policy["weekday"] = weekday
    return policy


def _next_window(policy: dict) -> dict:
    now = datetime.now(UTC)
    start = now.replace(hour=policy["hour"], minute=0, second=0, microsecond=0)
    if policy["plan"] == "weekly":
        start += timedelta(days=(WEEKDAYS.index(policy["weekday"]) - start.weekday()) % 7)
    if start <= now:
        start += timedelta(days=7 if policy["plan"] == "weekly" else 1)
    end = start + timedelta(hours=WINDOW_HOURS)
    return {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _policy_record(store, droplet: dict) -> dict:
    policy = store.get("backup_policies", droplet["id"])
    record = {"droplet_id": droplet["id"], "backup_enabled": policy is not None}
    if policy is not None:
        record["backup_policy"] = {
            **policy,
            "window_length_hours": WINDOW_HOURS,
            "retention_period_days": RETENTION_DAYS[policy["plan"]],
        }
        record["next_backup_window"] = _next_window(policy)
    return record


def _set_backups(store, droplet: dict, policy: dict | None) -> None:
    features = [f for f in droplet["features"] if f != "backups"]
    if policy is None:
        store.delete("backup_policies", droplet["id"])
    else:
        store.put("backup_policies", droplet["id"], policy)
        features.insert(0, "backups")
    droplet["features"] = features
    droplet["next_backup_window"] = _next_window(policy) if policy else None


SUPPORTED_POLICIES = [
    {
        "name": plan,
        "possible_window_starts": list(BACKUP_HOURS),
        "window_length_hours": WINDOW_HOURS,
        "retention_period_days": days,
        "possible_days": list(WEEKDAYS) if plan == "weekly" else [],
    }
    for plan, days in RETENTION_DAYS.items()
]


# -- views ------------------------------------------------------------------------------
def droplet_view(store, droplet: dict) -> dict:
    view = copy.deepcopy(droplet)
    policy = store.get("backup_policies", droplet["id"])
    view["next_backup_window"] = _next_window(policy) if policy else None  # the window moves on with time
    view["snapshot_ids"] = [i for i in droplet["snapshot_ids"] if store.get("images", i) is not None]
    return view


def _image_summary(image: dict) -> dict:
    """An image as the droplet snapshot/backup model shows it."""
    keys = ("id", "name", "distribution", "slug", "public", "regions", "created_at", "min_disk_size")
    return {**{k: image[k] for k in keys}, "size_gigabytes": image["size_gigabytes"] or 0, "type": image["type"]}


def _disk_info(disk: int) -> list[dict]:
    return [{"type": "local", "size": {"amount": disk, "unit": "gib"}}]


def _visible(networks: dict, public: bool) -> dict:
    """The backend's networks, less the public ones of a private-only droplet."""
    networks = copy.deepcopy(networks)
    if not public:
        networks = {family: [n for n in nets if n["type"] != "public"] for family, nets in networks.items()}
    return networks


# -- create ----------------------------------------------------------------------------------
@dataclass
class _Plan:
    """A create request, validated: nothing exists yet."""

    names: list[str]
    region: str
    size: dict
    image: dict
    keys: list[dict]
    vpc: dict | None
    tags: list[str]
    volumes: list[dict]
    policy: dict | None
    features: list[str]
    user_data: str | None
    public: bool


def _names(body: dict) -> list[str]:
    if "names" in body and "name" in body:
        raise ApiError(422, "Send either name (one Droplet) or names (several), not both.")
    names = body["names"] if "names" in body else [body.get("name")]
    if not isinstance(names, list) or not 1 <= len(names) <= MAX_NAMES:
        raise ApiError(422, f"names must list 1 to {MAX_NAMES} Droplet names.")
    for name in names:
        if not isinstance(name, str) or len(name) > 255 or not NAME.fullmatch(name):
            raise ApiError(
                422, f"Droplet name {name!r} is invalid: use letters, numbers, '.' and '-' (a hostname), up to 255."
            )
    return names


def _image(store, ref) -> dict:
    try:
        image = find_image(store, ref)
    except ApiError as exc:
        raise ApiError(422, f"You specified an invalid image ({ref!r}) for Droplet creation.") from exc
    if image["status"] != "available":
        raise ApiError(422, f"Image {ref!r} is not available (status {image['status']}).")
    return image


def _region(slug, image: dict) -> str:
    """The region named, or -- for none or a prefix like "nyc" -- the first matching one that has the image."""
    if slug in REGION_NAMES:
        candidates = [slug]
    elif slug is None or (isinstance(slug, str) and REGION_PREFIX.fullmatch(slug)):
        candidates = [r for r in sorted(REGION_NAMES) if r.startswith(slug or "")]
    else:
        candidates = []
    if not candidates:
        raise ApiError(422, f"Region '{slug}' is not available. Available regions: {', '.join(sorted(REGION_NAMES))}.")
    available = [r for r in candidates if r in image["regions"]]
    if not available:
        raise ApiError(422, f"Image {image['id']} ({image['name']}) is not available in region {slug}.")
    return available[0]


def _plan(ctx, body: dict) -> _Plan:
    store = ctx.store
    names = _names(body)
    if len(store.all("droplets")) + len(names) > ACCOUNT["droplet_limit"]:
        raise ApiError(
            422, f"Creating {len(names)} Droplet(s) would exceed your Droplet limit of {ACCOUNT['droplet_limit']}."
        )
    image = _image(store, body.get("image"))
    if (problem := ctx.backends.compute.image_error(image)) is not None:
        raise ApiError(422, problem)
    region = _region(body.get("region"), image)
    size = require_size(body.get("size"))
    if (image["min_disk_size"] or 0) > size["disk"]:
        raise ApiError(
            422,
            f"Size {size['slug']} ({size['disk']} GB disk) is too small for image {image['name']} ({image['min_disk_size']} GB).",
        )
    keys = []
    for ref in body.get("ssh_keys") or []:
        try:
            keys.append(find_key(store, ref))
        except ApiError as exc:
            raise ApiError(
                422, f"SSH key {ref!r} is not on your account: add it before using it on a Droplet."
            ) from exc
    vpc = None
    if body.get("vpc_uuid"):
        vpc = store.get("vpcs", body["vpc_uuid"])
        if vpc is None:
            raise ApiError(422, f"VPC {body['vpc_uuid']} does not exist.")
        if vpc["region"] != region:
            raise ApiError(422, f"VPC {vpc['id']} is in {vpc['region']}: a Droplet in {region} cannot join it.")
    tags = list(dict.fromkeys(validate_tag_name(t) for t in body.get("tags") or []))
    volumes = []
    for volume_id in dict.fromkeys(body.get("volumes") or []):
        volume = store.get("volumes", volume_id)
        if volume is None:
            raise ApiError(422, f"Volume {volume_id} does not exist.")
        check_attachable(volume, None, region, len(volumes))
        volumes.append(volume)
    if volumes and len(names) > 1:
        raise ApiError(422, "Volumes can only be attached when creating a single Droplet.")
    user_data = body.get("user_data")
    if user_data is not None and len(user_data.encode()) > USER_DATA_LIMIT:
        raise ApiError(422, "user_data may not exceed 64 KiB.")
    if body.get("backup_policy") and not body.get("backups"):
        raise ApiError(422, "backup_policy needs backups: true.")
    public = body.get("public_networking", True)
    if not public and body.get("ipv6"):
        raise ApiError(422, "A Droplet without public networking cannot have IPv6: set ipv6 to false.")
    features = [
        f
        for f, on in (
            ("backups", body.get("backups")),
            ("monitoring", body.get("monitoring")),
            ("ipv6", body.get("ipv6")),
            ("private_networking", True),  # every droplet is in a VPC
            ("droplet_agent", body.get("with_droplet_agent", True)),
        )
        if on
    ]
    policy = _policy(body.get("backup_policy")) if body.get("backups") else None
    return _Plan(names, region, size, image, keys, vpc, tags, volumes, policy, features, user_data, public)


def _boot(ctx, droplet_id: int, volume_ids: list[str], public: bool):
    """The create action's effect: active, with networks, once the backend has the droplet up."""
    ready_at = time.monotonic() + ctx.config.delay_droplet

    def effect() -> float | None:
        droplet = ctx.store.get("droplets", droplet_id)
        if droplet is None:  # deleted while new
            return None
        if (wait := ready_at - time.monotonic()) > 0:
            return wait
        networks = ctx.backends.compute.poll_ready(droplet)
        if networks is None:
            return 1.0
        droplet.update(networks=_visible(networks, public), status="active")
        for volume_id in volume_ids:
            volume = ctx.store.get("volumes", volume_id)
            if volume is not None and not volume["droplet_ids"]:
                attach(ctx, volume, droplet)
        return None

    return effect


def _create_one(ctx, name: str, plan: _Plan, vpc: dict) -> tuple[dict, dict]:
    droplet_id = ctx.store.next_id("droplets", start=DROPLET_ID_START)
    size = plan.size
    droplet = {
        "id": droplet_id,
        "name": name,
        "memory": size["memory"],
        "vcpus": size["vcpus"],
        "disk": size["disk"],
        "disk_info": _disk_info(size["disk"]),
        "locked": False,  # an admin lock, never set by actions
        "status": "new",
        "kernel": None,
        "created_at": now_iso(),
        "features": list(plan.features),
        "backup_ids": [],
        "next_backup_window": None,
        "snapshot_ids": [],
        "image": copy.deepcopy(plan.image),
        "volume_ids": [],
        "size": copy.deepcopy(size),
        "size_slug": size["slug"],
        "networks": {"v4": [], "v6": []},
        "region": region_object(plan.region),
        "tags": list(plan.tags),
        "vpc_uuid": vpc["id"],
    }
    ctx.store.put("droplets", droplet_id, droplet)
    if plan.policy:
        _set_backups(ctx.store, droplet, plan.policy)
    try:
        ctx.backends.compute.create(
            droplet, user_data=plan.user_data, ssh_public_keys=[k["public_key"] for k in plan.keys], vpc=vpc
        )
    except Exception:
        # The backing could not start it (a VPC range another emulator holds, a missing image):
        # the request fails, and no droplet is left listed as `new`, never to boot, for a client
        # that looks again before re-sending its create to find and wait on.
        _destroy(ctx, droplet)
        raise

    def failed() -> None:
        # An errored create leaves nothing behind to bill.
        current = ctx.store.get("droplets", droplet_id)
        if current is not None:
            _destroy(ctx, current)

    volume_ids = [v["id"] for v in plan.volumes]
    action = start_action(
        ctx,
        "create",
        droplet_id,
        "droplet",
        plan.region,
        effect=_boot(ctx, droplet_id, volume_ids, plan.public),
        on_error=failed,
    )
    return droplet, action


# -- delete ---------------------------------------------------------------------------------
def _destroy(ctx, droplet: dict) -> None:
    """Firewalls, load balancers, reserved IPs and projects drop a deleted droplet when they are read."""
    ctx.store.delete("droplets", droplet["id"])
    ctx.store.delete("backup_policies", droplet["id"])
    release_volumes(ctx.store, droplet)
    ctx.backends.compute.delete(droplet)


# -- actions --------------------------------------------------------------------------------
def _pending(ctx, droplet_id: int) -> bool:
    return any(a["status"] == "in-progress" for a in actions_for(ctx, "droplet", droplet_id))


def _resize(ctx, droplet: dict, body: dict):
    size = require_size(body.get("size"))
    if size["slug"] == droplet["size_slug"]:
        raise ApiError(422, f"Droplet is already of size {size['slug']}.")
    if size["disk"] < droplet["disk"]:
        # A disk resize is permanent: a smaller plan no longer fits the disk.
        raise ApiError(
            422,
            f"Size can not decrease size of Droplet's disk image: {size['slug']} has {size['disk']} GB, "
            f"the Droplet's disk {droplet['disk']} GB.",
        )
    grow_disk = bool(body.get("disk"))

    def change(d: dict) -> None:
        d.update(size=copy.deepcopy(size), size_slug=size["slug"], memory=size["memory"], vcpus=size["vcpus"])
        if grow_disk:
            d.update(disk=size["disk"], disk_info=_disk_info(size["disk"]))
        ctx.backends.compute.resize(d, size)

    return change


def _snapshot(ctx, droplet: dict, body: dict):
    name = body.get("name") or f"{droplet['name']}-{int(time.time() * 1000)}"

    def change(d: dict) -> None:
        size_gb = d["image"].get("size_gigabytes") or 1.0
        image = add_snapshot(ctx.store, name, [d["region"]["slug"]], d["disk"], size_gb)
        ctx.store.put("droplet_snapshots", image["id"], d["id"])
        d["snapshot_ids"].append(image["id"])
        ctx.backends.compute.snapshot(d, image)

    return change


def _rebuild(ctx, droplet: dict, body: dict):
    image = _image(ctx.store, body.get("image"))
    if droplet["region"]["slug"] not in image["regions"]:
        raise ApiError(422, f"Image {image['id']} is not available in region {droplet['region']['slug']}.")
    if (image["min_disk_size"] or 0) > droplet["disk"]:
        raise ApiError(
            422, f"Image {image['id']} needs a {image['min_disk_size']} GB disk; the Droplet has {droplet['disk']} GB."
        )

    def change(d: dict) -> None:
        d.update(image=copy.deepcopy(image), status="active")
        ctx.backends.compute.rebuild(d, image)

    return change


def _restore(ctx, droplet: dict, body: dict):
    if body.get("image") not in droplet["backup_ids"]:
        raise ApiError(422, f"Image {body.get('image')!r} is not a backup of this Droplet.")
    image = find_image(ctx.store, body["image"])

    def change(d: dict) -> None:
        d["status"] = "active"
        ctx.backends.compute.rebuild(d, image)

    return change


def _rename(ctx, droplet: dict, body: dict):
    name = _names({"name": body.get("name")})[0]
    return lambda d: d.update(name=name)


def _power(ctx, on: bool):
    def change(d: dict) -> None:
        ctx.backends.compute.power(d, on)
        d["status"] = "active" if on else "off"

    return change


def _reboot(ctx):
    def change(d: dict) -> None:
        ctx.backends.compute.reboot(d)
        d["status"] = "active"

    return change


def _enable_backups(ctx, droplet: dict, body: dict):
    policy = _policy(body.get("backup_policy"))
    return lambda d: _set_backups(ctx.store, d, policy)


def _change_backup_policy(ctx, droplet: dict, body: dict):
    if ctx.store.get("backup_policies", droplet["id"]) is None:
        raise ApiError(422, "Backups are not enabled for this Droplet: run enable_backups first.")
    if not body.get("backup_policy"):
        raise ApiError(422, "change_backup_policy needs a backup_policy.")
    policy = _policy(body["backup_policy"])
    return lambda d: _set_backups(ctx.store, d, policy)


def _enable_ipv6(ctx, droplet: dict, body: dict):
    if not any(n["type"] == "public" for n in droplet["networks"]["v4"]):
        raise ApiError(422, "This Droplet has no public networking, so IPv6 cannot be enabled.")

    def change(d: dict) -> None:
        if "ipv6" not in d["features"]:
            d["features"].append("ipv6")
        ctx.backends.compute.enable_ipv6(d)
        networks = ctx.backends.compute.poll_ready(d)
        if networks is not None:
            d["networks"] = copy.deepcopy(networks)

    return change


def _change_kernel(ctx, droplet: dict, body: dict):
    raise ApiError(422, "This Droplet uses an internal kernel: change_kernel does not apply to it.")


# type -> (ctx, droplet, body) -> change(droplet) run when the action completes
ACTIONS = {
    "power_on": lambda ctx, d, b: _power(ctx, True),
    "power_off": lambda ctx, d, b: _power(ctx, False),
    "shutdown": lambda ctx, d, b: _power(ctx, False),
    "reboot": lambda ctx, d, b: _reboot(ctx),
    "power_cycle": lambda ctx, d, b: _reboot(ctx),
    "password_reset": lambda ctx, d, b: lambda droplet: None,  # the new password goes by e-mail
    "resize": _resize,
    "snapshot": _snapshot,
    "rebuild": _rebuild,
    "restore": _restore,
    "rename": _rename,
    "enable_backups": _enable_backups,
    "disable_backups": lambda ctx, d, b: lambda droplet: _set_backups(ctx.store, droplet, None),
    "change_backup_policy": _change_backup_policy,
    "enable_ipv6": _enable_ipv6,
    "change_kernel": _change_kernel,
}
NEEDS_POWER_OFF = ("resize", "enable_ipv6")


def _prepare(ctx, droplet: dict, body: dict):
    """Validate an action on `droplet`: the change to make when it completes."""
    kind = body.get("type")
    if kind not in ACTIONS:
        raise ApiError(422, f"Unknown Droplet action type {kind!r}.")
    if _pending(ctx, droplet["id"]):
        raise ApiError(422, PENDING)
    if kind in NEEDS_POWER_OFF and droplet["status"] != "off":
        raise ApiError(422, POWERED_ON)
    return ACTIONS[kind](ctx, droplet, body)


def _start(ctx, droplet: dict, kind: str, change) -> dict:
    droplet_id = droplet["id"]

    def effect() -> None:
        current = ctx.store.get("droplets", droplet_id)
        if current is not None:
            change(current)

    return start_action(ctx, kind, droplet_id, "droplet", droplet["region"]["slug"], effect=effect)


def register(api):
    @api.route("/v2/droplets", methods=["POST"])
    def create_droplets(ctx):
        plan = _plan(ctx, ctx.json)
        ensure_tags(ctx.store, plan.tags)
        vpc = plan.vpc or default_vpc(ctx.store, plan.region)
        created = [_create_one(ctx, name, plan, vpc) for name in plan.names]
        links = {
            "actions": [
                {"id": a["id"], "rel": "create", "href": f"{ctx.base_url}/v2/actions/{a['id']}"} for _, a in created
            ]
        }
        views = [droplet_view(ctx.store, d) for d, _ in created]
        if "names" in ctx.json:
            return 202, {"droplets": views, "links": links}
        return 202, {"droplet": views[0], "links": links}

    @api.route("/v2/droplets", methods=["GET"])
    def list_droplets(ctx):
        tag, name, kind = ctx.query.get("tag_name"), ctx.query.get("name"), ctx.query.get("type")
        if tag and (name or kind):
            raise ApiError(422, "tag_name can not be combined with name or type.")
        items = sorted(ctx.store.all("droplets"), key=lambda d: d["id"])
        if tag:
            items = [d for d in items if tag in d["tags"]]
        if name:
            items = [d for d in items if d["name"].lower() == name.lower()]
        if kind == "gpus":
            items = []  # the catalogue has no GPU sizes
        return 200, ctx.paginate([droplet_view(ctx.store, d) for d in items], "droplets")

    @api.route("/v2/droplets", methods=["DELETE"])
    def delete_droplets_by_tag(ctx):
        tag = ctx.query.get("tag_name")
        if not tag:
            raise ApiError(422, "tag_name is required to delete Droplets by tag.")
        if ctx.store.get("tags", tag) is None:
            raise ApiError(404, f"The tag {tag} you were accessing could not be found.")
        for droplet in [d for d in ctx.store.all("droplets") if tag in d["tags"]]:
            _destroy(ctx, droplet)
        return 204, None

    @api.route("/v2/droplets/<int:droplet_id>", methods=["GET"])
    def get_droplet(ctx, droplet_id):
        return 200, {"droplet": droplet_view(ctx.store, find_droplet(ctx.store, droplet_id))}

    @api.route("/v2/droplets/<int:droplet_id>", methods=["DELETE"])
    def delete_droplet(ctx, droplet_id):
        _destroy(ctx, find_droplet(ctx.store, droplet_id))
        return 204, None

    @api.route("/v2/droplets/<int:droplet_id>/snapshots", methods=["GET"])
    def list_droplet_snapshots(ctx, droplet_id):
        view = droplet_view(ctx.store, find_droplet(ctx.store, droplet_id))
        return 200, ctx.paginate(
            [_image_summary(ctx.store.get("images", i)) for i in view["snapshot_ids"]], "snapshots"
        )

    @api.route("/v2/droplets/<int:droplet_id>/backups", methods=["GET"])
    def list_droplet_backups(ctx, droplet_id):
        droplet = find_droplet(ctx.store, droplet_id)
        images = [ctx.store.get("images", i) for i in droplet["backup_ids"]]
        return 200, ctx.paginate([_image_summary(i) for i in images if i is not None], "backups")

    @api.route("/v2/droplets/<int:droplet_id>/kernels", methods=["GET"])
    def list_droplet_kernels(ctx, droplet_id):
        find_droplet(ctx.store, droplet_id)
        return 200, ctx.paginate([], "kernels")  # droplets boot their image's own kernel

    @api.route("/v2/droplets/<int:droplet_id>/neighbors", methods=["GET"])
    def list_droplet_neighbors(ctx, droplet_id):
        find_droplet(ctx.store, droplet_id)
        return 200, {"droplets": []}  # emulated droplets share no physical server

    @api.route("/v2/reports/droplet_neighbors_ids", methods=["GET"])
    def list_neighbor_ids(ctx):
        return 200, {"neighbor_ids": []}

    @api.route("/v2/droplets/<int:droplet_id>/firewalls", methods=["GET"])
    def list_droplet_firewalls(ctx, droplet_id):
        droplet = find_droplet(ctx.store, droplet_id)
        items = [
            copy.deepcopy(f)
            for f in ctx.store.all("firewalls")
            if droplet_id in (f.get("droplet_ids") or []) or set(droplet["tags"]) & set(f.get("tags") or [])
        ]
        return 200, ctx.paginate(items, "firewalls")

    @api.route("/v2/droplets/<int:droplet_id>/backups/policy", methods=["GET"])
    def get_backup_policy(ctx, droplet_id):
        return 200, {"policy": _policy_record(ctx.store, find_droplet(ctx.store, droplet_id))}

    @api.route("/v2/droplets/backups/policies", methods=["GET"])
    def list_backup_policies(ctx):
        droplets = sorted(ctx.store.all("droplets"), key=lambda d: d["id"])
        body = ctx.paginate([_policy_record(ctx.store, d) for d in droplets], "policies")
        body["policies"] = {str(p["droplet_id"]): p for p in body["policies"]}
        return 200, body

    @api.route("/v2/droplets/backups/supported_policies", methods=["GET"])
    def list_supported_backup_policies(ctx):
        return 200, {"supported_policies": copy.deepcopy(SUPPORTED_POLICIES)}

    @api.route("/v2/droplets/<int:droplet_id>/actions", methods=["POST"])
    def post_droplet_action(ctx, droplet_id):
        droplet = find_droplet(ctx.store, droplet_id)
        change = _prepare(ctx, droplet, ctx.json)
        return 201, {"action": copy.deepcopy(_start(ctx, droplet, ctx.json["type"], change))}

    @api.route("/v2/droplets/actions", methods=["POST"])
    def post_droplet_action_by_tag(ctx):
        tag, kind = ctx.query.get("tag_name"), ctx.json.get("type")
        if not tag:
            raise ApiError(422, "tag_name is required to act on tagged Droplets.")
        if kind not in TAG_ACTIONS:
            raise ApiError(422, f"{kind!r} cannot be run on tagged Droplets; use one of: {', '.join(TAG_ACTIONS)}.")
        droplets = sorted((d for d in ctx.store.all("droplets") if tag in d["tags"]), key=lambda d: d["id"])
        changes = [(d, _prepare(ctx, d, ctx.json)) for d in droplets]  # all valid before any starts
        actions = [copy.deepcopy(_start(ctx, d, kind, change)) for d, change in changes]
        return 201, {"actions": actions}

    @api.route("/v2/droplets/<int:droplet_id>/actions", methods=["GET"])
    def list_droplet_actions(ctx, droplet_id):
        find_droplet(ctx.store, droplet_id)
        return 200, ctx.paginate(copy.deepcopy(actions_for(ctx, "droplet", droplet_id)), "actions")

    @api.route("/v2/droplets/<int:droplet_id>/actions/<int:action_id>", methods=["GET"])
    def get_droplet_action(ctx, droplet_id, action_id):
        find_droplet(ctx.store, droplet_id)
        action = ctx.store.get("actions", action_id)
        if action is None or action["resource_type"] != "droplet" or action["resource_id"] != droplet_id:
            raise ApiError(404, "The action you were accessing could not be found.")
        return 200, {"action": copy.deepcopy(action)}
