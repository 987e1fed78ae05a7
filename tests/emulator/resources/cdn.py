"""CDN endpoints (`/v2/cdn/endpoints`) in front of Spaces buckets."""

from __future__ import annotations

import re

from ..errors import ApiError, not_found
from ..store import new_uuid, now_iso
from .catalog import REGION_NAMES
from .certificates import find_certificate

ORIGIN = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.(?P<region>[a-z]{3}\d)\.digitaloceanspaces\.com$")
TTLS = (60, 600, 3600, 86400, 604800)


def _find(store, endpoint_id: str) -> dict:
    endpoint = store.get("cdn_endpoints", endpoint_id)
    if endpoint is None:
        raise not_found("CDN endpoint")
    return endpoint


def _settings(store, body: dict, endpoint: dict) -> None:
    """Apply ttl / certificate_id / custom_domain from `body` with DigitalOcean's rules."""
    if "ttl" in body:
        if body["ttl"] not in TTLS:
            raise ApiError(422, f"ttl must be one of {', '.join(map(str, TTLS))}.")
        endpoint["ttl"] = body["ttl"]
    for key in ("certificate_id", "custom_domain"):
        if key in body:
            endpoint[key] = body[key] or ""
    if endpoint.get("custom_domain") and not endpoint.get("certificate_id"):
        raise ApiError(422, "A custom_domain needs a certificate_id.")
    if endpoint.get("certificate_id"):
        certificate = find_certificate(store, endpoint["certificate_id"])
        domain = endpoint.get("custom_domain")
        if domain and certificate["dns_names"] and domain not in certificate["dns_names"]:
            raise ApiError(422, f"Certificate {certificate['name']} does not cover {domain}.")


def register(api):
    @api.route("/v2/cdn/endpoints", methods=["GET"])
    def list_endpoints(ctx):
        return 200, ctx.paginate(sorted(ctx.store.all("cdn_endpoints"), key=lambda e: e["created_at"]), "endpoints")

    @api.route("/v2/cdn/endpoints", methods=["POST"])
    def create_endpoint(ctx):
        body = ctx.json
        match = ORIGIN.match(body.get("origin") or "")
        if not match or match["region"] not in REGION_NAMES:
            raise ApiError(
                422, f"origin {body.get('origin')!r} must be a Spaces bucket: <bucket>.<region>.digitaloceanspaces.com"
            )
        if any(e["origin"] == body["origin"] for e in ctx.store.all("cdn_endpoints")):
            raise ApiError(409, f"A CDN endpoint for {body['origin']} already exists.")
        endpoint = {
            "id": new_uuid(),
            "origin": body["origin"],
            "endpoint": f"{match['bucket']}.{match['region']}.cdn.digitaloceanspaces.com",
            "ttl": 3600,
            "created_at": now_iso(),
        }
        _settings(ctx.store, body, endpoint)
        ctx.store.put("cdn_endpoints", endpoint["id"], endpoint)
        return 201, {"endpoint": endpoint}

    @api.route("/v2/cdn/endpoints/<endpoint_id>", methods=["GET"])
    def get_endpoint(ctx, endpoint_id):
        return 200, {"endpoint": _find(ctx.store, endpoint_id)}

    @api.route("/v2/cdn/endpoints/<endpoint_id>", methods=["PUT"])
    def update_endpoint(ctx, endpoint_id):
        endpoint = dict(_find(ctx.store, endpoint_id))
        _settings(ctx.store, ctx.json, endpoint)
        ctx.store.put("cdn_endpoints", endpoint_id, endpoint)
        return 200, {"endpoint": endpoint}

    @api.route("/v2/cdn/endpoints/<endpoint_id>", methods=["DELETE"])
    def delete_endpoint(ctx, endpoint_id):
        _find(ctx.store, endpoint_id)
        ctx.store.delete("cdn_endpoints", endpoint_id)
        return 204, None

    @api.route("/v2/cdn/endpoints/<endpoint_id>/cache", methods=["DELETE"])
    def purge_cache(ctx, endpoint_id):
        _find(ctx.store, endpoint_id)
        if not isinstance(ctx.json.get("files"), list) or not ctx.json["files"]:
            raise ApiError(422, "files must list the paths to purge (or '*').")
        return 204, None
