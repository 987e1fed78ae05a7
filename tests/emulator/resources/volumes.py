"""Block storage: volumes, their actions (attach, detach, resize) and snapshots; `/v2/snapshots`.

Volume actions are DigitalOcean actions with `resource_type: volume` and a
null `resource_id` (volume ids are UUIDs, the action model's id an integer),
so which volume an action belongs to is kept in the `volume_actions` table.
Droplet snapshots are images (catalog); `droplet_snapshots` remembers the
droplet each was taken from, which `/v2/snapshots` reports as `resource_id`.
"""

from __future__ import annotations

import copy
import re

from ..errors import ApiError, not_found
from ..store import new_uuid, now_iso
from ._shared import ensure_tags, find_droplet, validate_tag_name
from .actions import start_action
from .catalog import REGION_NAMES, region_object

MAX_VOLUMES_PER_DROPLET = 15  # "up to fifteen volumes may be attached to a Droplet at a time"
MAX_SIZE_GB = 16384  # 16 TiB
NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")
LABEL_LIMIT = {"ext4": 16, "xfs": 12}


def find_volume(store, volume_id) -> dict:
    volume = store.get("volumes", volume_id)
    if volume is None:
        raise not_found("volume")
    return volume


# -- attachments (also used by droplet create and delete) ---------------------------------
def check_attachable(volume: dict, droplet_id: int | None, region: str, attached: int) -> None:
    """DigitalOcean's attach rules: one droplet per volume, the same region, at most 15 per droplet.

    `attached` is how many volumes the droplet has already (`droplet_id` None: one being created).
    """
    if volume["droplet_ids"]:
        where = "this" if droplet_id in volume["droplet_ids"] else "another"
        raise ApiError(422, f"Volume {volume['name']} is already attached to {where} Droplet.")
    if volume["region"]["slug"] != region:
        raise ApiError(
            422,
            f"Volume {volume['name']} is in {volume['region']['slug']} and the Droplet in {region}: "
            "a volume can only be attached to a Droplet in the same region.",
        )
    if attached >= MAX_VOLUMES_PER_DROPLET:
        raise ApiError(422, f"A Droplet can have at most {MAX_VOLUMES_PER_DROPLET} volumes attached.")


def attach(ctx, volume: dict, droplet: dict) -> None:
    volume["droplet_ids"] = [droplet["id"]]
    droplet["volume_ids"].append(volume["id"])
    ctx.backends.compute.attach_volume(droplet, volume)


def detach(ctx, volume: dict, droplet: dict) -> None:
    volume["droplet_ids"] = [i for i in volume["droplet_ids"] if i != droplet["id"]]
    droplet["volume_ids"] = [i for i in droplet["volume_ids"] if i != volume["id"]]
    ctx.backends.compute.detach_volume(droplet, volume)


def release_volumes(store, droplet: dict) -> None:
    """A deleted droplet's volumes stay, detached (the backend removes the droplet itself)."""
    for volume_id in droplet["volume_ids"]:
        volume = store.get("volumes", volume_id)
        if volume is not None:
            volume["droplet_ids"] = [i for i in volume["droplet_ids"] if i != droplet["id"]]


# -- views ------------------------------------------------------------------------------
def volume_snapshot_view(snapshot: dict) -> dict:
    return copy.deepcopy(snapshot)


def droplet_snapshot_view(store, image: dict) -> dict:
    return {
        "id": str(image["id"]),
        "name": image["name"],
        "created_at": image["created_at"],
        "regions": list(image["regions"]),
        "min_disk_size": image["min_disk_size"] or 0,
        "size_gigabytes": image["size_gigabytes"] or 0,
        "resource_id": str(store.get("droplet_snapshots", image["id"]) or ""),
        "resource_type": "droplet",
        "tags": list(image.get("tags") or []),
    }


# -- validation -------------------------------------------------------------------------
def _validate_new_volume(store, body: dict) -> list[str]:
    """Check a create request; the volume's tag names (created as tag records) when it is valid."""
    name, region, size = body.get("name"), body.get("region"), body.get("size_gigabytes")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ApiError(
            422,
            f"Volume name {name!r} is invalid: use lowercase letters, numbers and '-', start with a letter, "
            "up to 64 characters.",
        )
    if region not in REGION_NAMES:
        raise ApiError(422, f"Region '{region}' is not available for block storage.")
    if not isinstance(size, int) or not 1 <= size <= MAX_SIZE_GB:
        raise ApiError(422, f"size_gigabytes must be between 1 and {MAX_SIZE_GB}, got {size!r}.")
    if any(v["name"] == name and v["region"]["slug"] == region for v in store.all("volumes")):
        raise ApiError(409, f"A volume named {name} already exists in {region}.", "conflict")
    fs_type, label = body.get("filesystem_type") or "", body.get("filesystem_label") or ""
    if fs_type and fs_type not in LABEL_LIMIT:
        raise ApiError(422, f"filesystem_type must be ext4 or xfs, not {fs_type!r}.")
    if label and not fs_type:
        raise ApiError(422, "filesystem_label can only be set together with filesystem_type.")
    if label and len(label) > LABEL_LIMIT[fs_type]:
        raise ApiError(422, f"An {fs_type} filesystem_label may have at most {LABEL_LIMIT[fs_type]} characters.")
    if body.get("snapshot_id"):
        snapshot = store.get("volume_snapshots", body["snapshot_id"])
        if snapshot is None:
            raise not_found("snapshot")
        if region not in snapshot["regions"]:
            raise ApiError(422, f"Snapshot {snapshot['id']} is not available in {region}.")
        if size < snapshot["min_disk_size"]:
            raise ApiError(422, f"size_gigabytes must be at least the snapshot's {snapshot['min_disk_size']} GiB.")
    return _tags(store, body.get("tags"))


def _tags(store, names) -> list[str]:
    names = list(dict.fromkeys(validate_tag_name(n) for n in names or []))
    ensure_tags(store, names)
    return names


def _volume_action_pending(ctx, volume_id: str) -> bool:
    return any(
        ctx.store.get("actions", action_id)["status"] == "in-progress"
        for action_id, owner in ctx.store.table("volume_actions").items()
        if owner == volume_id
    )


def _start_volume_action(ctx, volume: dict, body: dict) -> dict:
    kind = body.get("type")
    if body.get("region") and body["region"] != volume["region"]["slug"]:
        raise ApiError(422, f"Volume {volume['name']} is in {volume['region']['slug']}, not {body['region']}.")
    if _volume_action_pending(ctx, volume["id"]):
        raise ApiError(422, f"Volume {volume['name']} already has a pending event.")
    volume_id = volume["id"]
    if kind in ("attach", "detach"):
        droplet = find_droplet(ctx.store, body.get("droplet_id"))
        droplet_id = droplet["id"]
        if kind == "attach":
            check_attachable(volume, droplet_id, droplet["region"]["slug"], len(droplet["volume_ids"]))
        elif droplet_id not in volume["droplet_ids"]:
            raise ApiError(422, "Attachment not found")

        def effect() -> None:
            vol, drop = ctx.store.get("volumes", volume_id), ctx.store.get("droplets", droplet_id)
            if vol is not None and drop is not None:
                (attach if kind == "attach" else detach)(ctx, vol, drop)

    elif kind == "resize":
        size = body.get("size_gigabytes")
        if not isinstance(size, int) or not volume["size_gigabytes"] < size <= MAX_SIZE_GB:
            raise ApiError(
                422,
                f"Volumes can only grow: size_gigabytes must be above the current {volume['size_gigabytes']} "
                f"and at most {MAX_SIZE_GB}, got {size!r}.",
            )

        def effect() -> None:
            vol = ctx.store.get("volumes", volume_id)
            if vol is not None:
                vol["size_gigabytes"] = size
                ctx.backends.compute.resize_volume(vol)

    else:
        raise ApiError(422, f"Unknown volume action type {kind!r}: use attach, detach or resize.")
    action = start_action(ctx, f"{kind}_volume", None, "volume", volume["region"]["slug"], effect=effect)
    ctx.store.put("volume_actions", action["id"], volume_id)
    return action


def _delete_volume(ctx, volume: dict) -> None:
    if volume["droplet_ids"]:
        raise ApiError(
            409, "A volume that's attached to a Droplet cannot be deleted. Please detach it first before deleting."
        )
    ctx.store.delete("volumes", volume["id"])  # projects drop it when they are read


def _find_snapshot(store, snapshot_id: str) -> tuple[str, dict]:
    """`/v2/snapshots/{id}`: an integer names a droplet snapshot (an image), a UUID a volume snapshot."""
    if snapshot_id.isdigit():
        image = store.get("images", snapshot_id)
        if image is None:
            raise not_found("snapshot")
        if image["type"] != "snapshot":
            raise ApiError(400, "the resource is not a snapshot")
        return "droplet", image
    snapshot = store.get("volume_snapshots", snapshot_id)
    if snapshot is None:
        raise not_found("snapshot")
    return "volume", snapshot


def _all_snapshots(store, resource_type: str | None) -> list[dict]:
    items = []
    if resource_type in (None, "droplet"):
        items += [droplet_snapshot_view(store, i) for i in store.all("images") if i["type"] == "snapshot"]
    if resource_type in (None, "volume"):
        items += [volume_snapshot_view(s) for s in store.all("volume_snapshots")]
    return sorted(items, key=lambda s: s["created_at"])


def register(api):
    @api.route("/v2/volumes", methods=["GET"])
    def list_volumes(ctx):
        items = ctx.store.all("volumes")
        if ctx.query.get("name"):
            items = [v for v in items if v["name"] == ctx.query["name"]]
        if ctx.query.get("region"):
            items = [v for v in items if v["region"]["slug"] == ctx.query["region"]]
        return 200, ctx.paginate(copy.deepcopy(items), "volumes")

    @api.route("/v2/volumes", methods=["POST"])
    def create_volume(ctx):
        body = ctx.json
        tags = _validate_new_volume(ctx.store, body)
        volume_id = new_uuid()
        volume = {
            "id": volume_id,
            "name": body["name"],
            "description": body.get("description") or "",
            "size_gigabytes": body["size_gigabytes"],
            "created_at": now_iso(),
            "region": region_object(body["region"]),
            "droplet_ids": [],
            "tags": tags,
            "filesystem_type": body.get("filesystem_type") or "",
            "filesystem_label": body.get("filesystem_label") or "",
        }
        ctx.store.put("volumes", volume_id, volume)
        return 201, {"volume": copy.deepcopy(volume)}

    @api.route("/v2/volumes", methods=["DELETE"])
    def delete_volume_by_name(ctx):
        name, region = ctx.query.get("name"), ctx.query.get("region")
        if not name or not region:
            raise ApiError(422, "Deleting a volume by name needs both the name and region query parameters.")
        volume = next(
            (v for v in ctx.store.all("volumes") if v["name"] == name and v["region"]["slug"] == region), None
        )
        if volume is None:
            raise not_found("volume")
        _delete_volume(ctx, volume)
        return 204, None

    @api.route("/v2/volumes/<volume_id>", methods=["GET"])
    def get_volume(ctx, volume_id):
        return 200, {"volume": copy.deepcopy(find_volume(ctx.store, volume_id))}

    @api.route("/v2/volumes/<volume_id>", methods=["DELETE"])
    def delete_volume(ctx, volume_id):
        _delete_volume(ctx, find_volume(ctx.store, volume_id))
        return 204, None

    @api.route("/v2/volumes/<volume_id>/actions", methods=["POST"])
    def post_volume_action(ctx, volume_id):
        volume = find_volume(ctx.store, volume_id)
        return 202, {"action": copy.deepcopy(_start_volume_action(ctx, volume, ctx.json))}

    @api.route("/v2/volumes/actions", methods=["POST"])
    def post_volume_action_by_name(ctx):
        body = ctx.json
        if body.get("type") not in ("attach", "detach"):
            raise ApiError(422, "Only attach and detach can address a volume by name; resize it by id.")
        name, region = body.get("volume_name"), body.get("region")
        if not name or not region:
            raise ApiError(422, "volume_name and region are required to address a volume by name.")
        volume = next(
            (v for v in ctx.store.all("volumes") if v["name"] == name and v["region"]["slug"] == region), None
        )
        if volume is None:
            raise not_found("volume")
        return 202, {"action": copy.deepcopy(_start_volume_action(ctx, volume, body))}

    @api.route("/v2/volumes/<volume_id>/actions", methods=["GET"])
    def list_volume_actions(ctx, volume_id):
        find_volume(ctx.store, volume_id)
        ids = sorted((int(a) for a, v in ctx.store.table("volume_actions").items() if v == volume_id), reverse=True)
        return 200, ctx.paginate([copy.deepcopy(ctx.store.get("actions", i)) for i in ids], "actions")

    @api.route("/v2/volumes/<volume_id>/actions/<int:action_id>", methods=["GET"])
    def get_volume_action(ctx, volume_id, action_id):
        find_volume(ctx.store, volume_id)
        if ctx.store.get("volume_actions", action_id) != volume_id:
            raise not_found("action")
        return 200, {"action": copy.deepcopy(ctx.store.get("actions", action_id))}

    @api.route("/v2/volumes/<volume_id>/snapshots", methods=["GET"])
    def list_volume_snapshots(ctx, volume_id):
        find_volume(ctx.store, volume_id)
        items = [volume_snapshot_view(s) for s in ctx.store.all("volume_snapshots") if s["resource_id"] == volume_id]
        return 200, ctx.paginate(items, "snapshots")

    @api.route("/v2/volumes/<volume_id>/snapshots", methods=["POST"])
    def create_volume_snapshot(ctx, volume_id):
        volume = find_volume(ctx.store, volume_id)
        name = ctx.json.get("name")
        if not name:
            raise ApiError(422, "name is required for a volume snapshot.")
        snapshot_id = new_uuid()
        snapshot = {
            "id": snapshot_id,
            "name": name,
            "created_at": now_iso(),
            "regions": [volume["region"]["slug"]],
            "min_disk_size": volume["size_gigabytes"],
            "size_gigabytes": 0,  # billable size: nothing was written to an emulated volume
            "resource_id": volume_id,
            "resource_type": "volume",
            "tags": _tags(ctx.store, ctx.json.get("tags")),
        }
        ctx.store.put("volume_snapshots", snapshot_id, snapshot)
        return 201, {"snapshot": volume_snapshot_view(snapshot)}

    @api.route("/v2/volumes/snapshots/<snapshot_id>", methods=["GET"])
    def get_volume_snapshot(ctx, snapshot_id):
        snapshot = ctx.store.get("volume_snapshots", snapshot_id)
        if snapshot is None:
            raise not_found("snapshot")
        return 200, {"snapshot": volume_snapshot_view(snapshot)}

    @api.route("/v2/volumes/snapshots/<snapshot_id>", methods=["DELETE"])
    def delete_volume_snapshot(ctx, snapshot_id):
        if ctx.store.delete("volume_snapshots", snapshot_id) is None:
            raise not_found("snapshot")
        return 204, None

    @api.route("/v2/snapshots", methods=["GET"])
    def list_snapshots(ctx):
        return 200, ctx.paginate(_all_snapshots(ctx.store, ctx.query.get("resource_type")), "snapshots")

    @api.route("/v2/snapshots/<snapshot_id>", methods=["GET"])
    def get_snapshot(ctx, snapshot_id):
        kind, record = _find_snapshot(ctx.store, snapshot_id)
        view = droplet_snapshot_view(ctx.store, record) if kind == "droplet" else volume_snapshot_view(record)
        return 200, {"snapshot": view}

    @api.route("/v2/snapshots/<snapshot_id>", methods=["DELETE"])
    def delete_snapshot(ctx, snapshot_id):
        kind, record = _find_snapshot(ctx.store, snapshot_id)
        if kind == "volume":
            ctx.store.delete("volume_snapshots", snapshot_id)
            return 204, None
        # A droplet snapshot is an image: it leaves the catalogue and its droplet's snapshot_ids.
        ctx.store.delete("images", snapshot_id)
        droplet = ctx.store.get("droplets", ctx.store.get("droplet_snapshots", snapshot_id))
        if droplet is not None:
            droplet["snapshot_ids"] = [i for i in droplet["snapshot_ids"] if i != record["id"]]
        ctx.store.delete("droplet_snapshots", snapshot_id)
        return 204, None
