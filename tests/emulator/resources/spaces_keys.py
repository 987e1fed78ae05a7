"""Spaces access keys: S3 credentials scoped by per-bucket grants.

A key either has full access to every bucket (one grant: bucket "",
permission fullaccess) or a list of per-bucket read/readwrite grants (possibly
empty); the two cannot be mixed, nor converted into one another by an update.
The secret is returned once, by the create. Invalid grants answer 400
`bad_request`, the status the spec documents for them.
"""

from __future__ import annotations

import re
import secrets
import string

from ..errors import ApiError, not_found
from ..store import now_iso

TABLE = "spaces_keys"
SCOPED = ("read", "readwrite")
FULL = "fullaccess"
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
SORT_FIELDS = ("created_at", "name")


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


def _new_access_key() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "DO" + "".join(secrets.choice(alphabet) for _ in range(18))


def _new_secret() -> str:
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(secrets.choice(alphabet) for _ in range(43))


def _grants(raw) -> list[dict]:
    """Validated grants, normalised to {bucket, permission}."""
    grants, buckets = [], set()
    for grant in raw or []:
        bucket, permission = grant.get("bucket", ""), grant.get("permission", "")
        if permission == FULL:
            if bucket:
                raise _bad(f"a fullaccess grant covers every bucket: its bucket must be empty, not '{bucket}'.")
        elif permission in SCOPED:
            if not BUCKET_NAME.fullmatch(bucket or ""):
                raise _bad(
                    f"invalid bucket name '{bucket}': use 3 to 63 lowercase letters, numbers and dashes, "
                    "starting and ending with a letter or number."
                )
            if bucket in buckets:
                raise _bad(f"bucket '{bucket}' is granted more than once.")
            buckets.add(bucket)
        else:
            raise _bad(f"invalid permission '{permission}': use read, readwrite or fullaccess.")
        grants.append({"bucket": bucket, "permission": permission})
    full = sum(g["permission"] == FULL for g in grants)
    if full and full < len(grants):
        raise _bad("cannot mix fullaccess permission with scoped permissions.")
    if full > 1:
        raise _bad("a key has at most one fullaccess grant.")
    return grants


def _is_full(grants: list[dict]) -> bool:
    return any(g["permission"] == FULL for g in grants)


def _name(body: dict, required: bool) -> str | None:
    name = body.get("name")
    if name is None and not required:
        return None
    if not isinstance(name, str) or not name.strip():
        raise _bad("name is required and must not be empty.")
    return name


def _find(ctx, access_key: str) -> dict:
    key = ctx.store.get(TABLE, access_key)
    if key is None:
        raise not_found("Spaces access key")
    return key


def _listed(ctx) -> list[dict]:
    query = ctx.query
    sort = query.get("sort", "created_at")
    direction = query.get("sort_direction", "desc")
    if sort not in SORT_FIELDS:
        raise _bad(f"cannot sort by '{sort}': use one of {', '.join(SORT_FIELDS)}.")
    if direction not in ("asc", "desc"):
        raise _bad(f"invalid sort_direction '{direction}': use asc or desc.")
    items = ctx.store.all(TABLE)
    if query.get("name"):
        items = [k for k in items if k["name"] == query["name"]]
    if query.get("bucket"):
        items = [k for k in items if any(g["bucket"] == query["bucket"] for g in k["grants"])]
    if query.get("permission"):
        items = [k for k in items if any(g["permission"] == query["permission"] for g in k["grants"])]
    # Stable sorts: keys made within the same second keep their creation order.
    if direction == "desc":
        return sorted(reversed(items), key=lambda k: k[sort], reverse=True)
    return sorted(items, key=lambda k: k[sort])


def _update(ctx, access_key: str) -> tuple[int, dict]:
    key = _find(ctx, access_key)
    body = ctx.json
    name = _name(body, required=False)
    if "grants" in body:
        grants = _grants(body["grants"])
        if _is_full(grants) != _is_full(key["grants"]):
            raise _bad("a fullaccess key cannot be converted to a scoped key or vice versa; create a new key.")
        if grants != key["grants"]:
            ctx.backends.storage.set_grants(access_key, grants)
            key["grants"] = grants
    if name is not None:
        key["name"] = name
    return 200, {"key": key}


def register(api):
    @api.route("/v2/spaces/keys", methods=["GET"])
    def list_keys(ctx):
        return 200, ctx.paginate(_listed(ctx), "keys")

    @api.route("/v2/spaces/keys", methods=["POST"])
    def create_key(ctx):
        body = ctx.json
        name = _name(body, required=True)
        grants = _grants(body.get("grants"))
        access_key, secret = _new_access_key(), _new_secret()
        key = {"name": name, "access_key": access_key, "grants": grants, "created_at": now_iso()}
        ctx.backends.storage.add_key(access_key, secret, grants)
        ctx.store.put(TABLE, access_key, key)
        return 201, {"key": {**key, "secret_key": secret}}

    @api.route("/v2/spaces/keys/<access_key>", methods=["GET"])
    def get_key(ctx, access_key):
        # The spec's schema names a `keys` array here; its example and DigitalOcean answer `key`.
        return 200, {"key": _find(ctx, access_key)}

    @api.route("/v2/spaces/keys/<access_key>", methods=["PUT"])
    def update_key(ctx, access_key):
        return _update(ctx, access_key)

    @api.route("/v2/spaces/keys/<access_key>", methods=["PATCH"])
    def patch_key(ctx, access_key):
        return _update(ctx, access_key)

    @api.route("/v2/spaces/keys/<access_key>", methods=["DELETE"])
    def delete_key(ctx, access_key):
        _find(ctx, access_key)
        ctx.backends.storage.remove_key(access_key)
        ctx.store.delete(TABLE, access_key)
        return 204, None
