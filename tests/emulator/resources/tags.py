"""Tags: the records (`tags` table, also filled implicitly by resources named with new tags) and tagging.

A tag's `resources` counts what carries it, per type, read from the owning
tables: droplets, images, volumes, volume snapshots and database clusters.
The most recently created resource carrying the tag stands in for the "last
tagged" one. Tagging writes the `tags` list of the tagged record, whichever
family owns it -- on DigitalOcean too, tagging is a cross-cutting operation.
"""

from __future__ import annotations

from ..errors import ApiError, not_found
from ._shared import ensure_tags, validate_tag_name

# resource_type -> (store table, key in a tag's `resources`, API path of the resource)
TAGGABLE = {
    "droplet": ("droplets", "droplets", "droplets"),
    "image": ("images", "images", "images"),
    "volume": ("volumes", "volumes", "volumes"),
    "volume_snapshot": ("volume_snapshots", "volume_snapshots", "snapshots"),
    "database": ("database_clusters", "databases", "databases"),
}


def find_tag(store, name: str) -> dict:
    tag = store.get("tags", name)
    if tag is None:
        raise not_found("tag")
    return tag


def tag_view(ctx, name: str) -> dict:
    resources: dict = {"count": 0}
    newest_overall: tuple[str, str] | None = None
    for table, key, path in TAGGABLE.values():
        tagged = [r for r in ctx.store.all(table) if name in (r.get("tags") or [])]
        entry: dict = {"count": len(tagged)}
        if tagged:
            # reversed: among equal creation times the later-stored record wins
            newest = max(reversed(tagged), key=lambda r: r.get("created_at") or "")
            entry["last_tagged_uri"] = f"{ctx.base_url}/v2/{path}/{newest['id']}"
            if newest_overall is None or (newest.get("created_at") or "") >= newest_overall[0]:
                newest_overall = (newest.get("created_at") or "", entry["last_tagged_uri"])
        resources[key] = entry
        resources["count"] += len(tagged)
    if newest_overall:
        resources["last_tagged_uri"] = newest_overall[1]
    return {"name": name, "resources": resources}


def _targets(ctx, items) -> list[dict]:
    """The records a tag (un)assignment names, all checked before any is touched."""
    if not isinstance(items, list) or not items:
        raise ApiError(422, "resources must list at least one {resource_id, resource_type}.")
    records = []
    for item in items:
        kind, resource_id = item.get("resource_type"), str(item.get("resource_id"))
        if kind not in TAGGABLE:
            raise ApiError(422, f"resource_type must be one of {', '.join(TAGGABLE)}, not {kind!r}.")
        record = ctx.store.get(TAGGABLE[kind][0], resource_id)
        if record is None:
            raise ApiError(404, f"The {kind.replace('_', ' ')} {resource_id} you were accessing could not be found.")
        if kind == "image" and record.get("public"):
            raise ApiError(422, f"Image {resource_id} is a public image: only your own images can be tagged.")
        records.append(record)
    return records


def register(api):
    @api.route("/v2/tags", methods=["GET"])
    def list_tags(ctx):
        names = sorted(ctx.store.table("tags"))
        return 200, ctx.paginate([tag_view(ctx, n) for n in names], "tags")

    @api.route("/v2/tags", methods=["POST"])
    def create_tag(ctx):
        name = validate_tag_name(ctx.json.get("name"))
        ensure_tags(ctx.store, [name])  # creating an existing tag answers it, as DigitalOcean does
        return 201, {"tag": tag_view(ctx, name)}

    @api.route("/v2/tags/<tag_id>", methods=["GET"])
    def get_tag(ctx, tag_id):
        find_tag(ctx.store, tag_id)
        return 200, {"tag": tag_view(ctx, tag_id)}

    @api.route("/v2/tags/<tag_id>", methods=["DELETE"])
    def delete_tag(ctx, tag_id):
        find_tag(ctx.store, tag_id)
        for table, _, _ in TAGGABLE.values():  # deleting a tag untags everything that carried it
            for record in ctx.store.all(table):
                if tag_id in (record.get("tags") or []):
                    record["tags"] = [t for t in record["tags"] if t != tag_id]
        ctx.store.delete("tags", tag_id)
        return 204, None

    @api.route("/v2/tags/<tag_id>/resources", methods=["POST"])
    def tag_resources(ctx, tag_id):
        find_tag(ctx.store, tag_id)
        for record in _targets(ctx, ctx.json.get("resources")):
            tags = record.get("tags") or []
            record["tags"] = tags if tag_id in tags else [*tags, tag_id]
        return 204, None

    @api.route("/v2/tags/<tag_id>/resources", methods=["DELETE"])
    def untag_resources(ctx, tag_id):
        find_tag(ctx.store, tag_id)
        for record in _targets(ctx, ctx.json.get("resources")):
            record["tags"] = [t for t in record.get("tags") or [] if t != tag_id]
        return 204, None
