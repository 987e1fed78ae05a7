"""Regions, sizes and distribution images: the fixed catalogue every account sees.

A realistic subset of DigitalOcean's: the regions and sizes the seeds use and
their neighbours, and the distribution images a droplet can boot. Handlers in
other families validate their input against it (unknown region/size/image ->
422, as DigitalOcean answers).
"""

from __future__ import annotations

from ..errors import ApiError, not_found
from ..store import now_iso

REGION_NAMES = {
    "nyc1": "New York 1",
    "nyc3": "New York 3",
    "sfo2": "San Francisco 2",
    "sfo3": "San Francisco 3",
    "ams3": "Amsterdam 3",
    "sgp1": "Singapore 1",
    "lon1": "London 1",
    "fra1": "Frankfurt 1",
    "tor1": "Toronto 1",
    "blr1": "Bangalore 1",
    "syd1": "Sydney 1",
}
REGION_FEATURES = ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"]

# slug: (memory MiB, vcpus, disk GB, transfer TB, monthly USD, description)
SIZE_TABLE = {
    "s-1vcpu-512mb-10gb": (512, 1, 10, 0.5, 4.0, "Basic"),
    "s-1vcpu-1gb": (1024, 1, 25, 1.0, 6.0, "Basic"),
    "s-1vcpu-2gb": (2048, 1, 50, 2.0, 12.0, "Basic"),
    "s-2vcpu-2gb": (2048, 2, 60, 3.0, 18.0, "Basic"),
    "s-2vcpu-4gb": (4096, 2, 80, 4.0, 24.0, "Basic"),
    "s-4vcpu-8gb": (8192, 4, 160, 5.0, 48.0, "Basic"),
    "s-8vcpu-16gb": (16384, 8, 320, 6.0, 96.0, "Basic"),
    "g-2vcpu-8gb": (8192, 2, 25, 4.0, 63.0, "General Purpose"),
    "g-4vcpu-16gb": (16384, 4, 50, 5.0, 126.0, "General Purpose"),
    "c-2": (4096, 2, 25, 4.0, 42.0, "CPU-Optimized"),
    "c-4": (8192, 4, 50, 5.0, 84.0, "CPU-Optimized"),
    "m-2vcpu-16gb": (16384, 2, 50, 4.0, 84.0, "Memory-Optimized"),
}

# slug: (id, distribution, name, min disk GB)
DISTRIBUTION_IMAGES = {
    "debian-12-x64": (150000001, "Debian", "12 x64", 15),
    "debian-13-x64": (150000002, "Debian", "13 x64", 15),
    "ubuntu-22-04-x64": (150000003, "Ubuntu", "22.04 (LTS) x64", 15),
    "ubuntu-24-04-x64": (150000004, "Ubuntu", "24.04 (LTS) x64", 15),
}


def region_object(slug: str) -> dict:
    return {
        "name": REGION_NAMES[slug],
        "slug": slug,
        "features": list(REGION_FEATURES),
        "available": True,
        "sizes": list(SIZE_TABLE),
    }


def size_object(slug: str) -> dict:
    memory, vcpus, disk, transfer, monthly, description = SIZE_TABLE[slug]
    return {
        "slug": slug,
        "memory": memory,
        "vcpus": vcpus,
        "disk": disk,
        "transfer": transfer,
        "price_monthly": monthly,
        "price_hourly": round(monthly / 672, 5),
        "regions": sorted(REGION_NAMES),
        "available": True,
        "description": description,
    }


def require_region(slug: str | None) -> str:
    if slug not in REGION_NAMES:
        raise ApiError(422, f"Region '{slug}' is not available. Available regions: {', '.join(sorted(REGION_NAMES))}.")
    return slug


def require_size(slug: str | None) -> dict:
    if slug not in SIZE_TABLE:
        raise ApiError(422, f"Size '{slug}' is not available.")
    return size_object(slug)


def _seed_images(store) -> dict:
    table = store.table("images")
    if not any(img.get("type") == "base" for img in table.values()):
        for slug, (image_id, distribution, name, min_disk) in DISTRIBUTION_IMAGES.items():
            table[str(image_id)] = {
                "id": image_id,
                "name": name,
                "distribution": distribution,
                "slug": slug,
                "public": True,
                "regions": sorted(REGION_NAMES),
                "created_at": "2025-01-15T00:00:00Z",
                "type": "base",
                "min_disk_size": min_disk,
                "size_gigabytes": 2.36,
                "description": f"{distribution} {name}",
                "tags": [],
                "status": "available",
            }
    return table


def images(store) -> list[dict]:
    return sorted(_seed_images(store).values(), key=lambda i: i["id"])


def find_image(store, ref) -> dict:
    """An image by id or slug (404 when unknown)."""
    table = _seed_images(store)
    key = str(ref)
    if key in table:
        return table[key]
    for image in table.values():
        if image.get("slug") and image["slug"] == key:
            return image
    raise not_found("image")


def add_snapshot(store, name: str, regions: list[str], min_disk: int, size_gb: float, tags=None) -> dict:
    _seed_images(store)
    image_id = store.next_id("images", start=200000000)
    return store.put(
        "images",
        image_id,
        {
            "id": image_id,
            "name": name,
            "distribution": "Debian",
            "slug": None,
            "public": False,
            "regions": regions,
            "created_at": now_iso(),
            "type": "snapshot",
            "min_disk_size": min_disk,
            "size_gigabytes": size_gb,
            "description": "",
            "tags": list(tags or []),
            "status": "available",
        },
    )


def register(api):
    @api.route("/v2/regions", methods=["GET"])
    def list_regions(ctx):
        return 200, ctx.paginate([region_object(s) for s in REGION_NAMES], "regions")

    @api.route("/v2/sizes", methods=["GET"])
    def list_sizes(ctx):
        return 200, ctx.paginate([size_object(s) for s in SIZE_TABLE], "sizes")

    @api.route("/v2/images", methods=["GET"])
    def list_images(ctx):
        items = images(ctx.store)
        kind = ctx.query.get("type")
        if kind == "distribution":
            items = [i for i in items if i["type"] == "base"]
        elif kind == "application":
            items = []
        if ctx.query.get("private") == "true":
            items = [i for i in items if not i["public"]]
        if ctx.query.get("tag_name"):
            items = [i for i in items if ctx.query["tag_name"] in i.get("tags", [])]
        return 200, ctx.paginate(items, "images")

    @api.route("/v2/images/<image_ref>", methods=["GET"])
    def get_image(ctx, image_ref):
        return 200, {"image": find_image(ctx.store, image_ref)}

    @api.route("/v2/images/<int:image_id>", methods=["DELETE"])
    def delete_image(ctx, image_id):
        image = find_image(ctx.store, image_id)
        if image["type"] == "base":
            raise ApiError(403, "Distribution images cannot be deleted.")
        ctx.store.delete("images", image_id)
        return 204, None
