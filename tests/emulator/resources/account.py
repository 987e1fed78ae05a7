"""The account (`/v2/account`) and its SSH keys (`/v2/account/keys`)."""

from __future__ import annotations

import base64
import binascii
import hashlib

from ..errors import ApiError, not_found

ACCOUNT = {
    "droplet_limit": 2000,
    "floating_ip_limit": 20,
    "volume_limit": 100,
    "email": "operator@seaworthy.test",
    "uuid": "5eaf0e7d1c2b4a6e8f90a1b2c3d4e5f6a7b8c9d0",
    "email_verified": True,
    "status": "active",
    "status_message": "",
    "team": {"uuid": "7ea3c0de5eaf0e7d1c2b4a6e8f90a1b2c3d4e5f6", "name": "Seaworthy"},
}
KEY_TYPES = ("ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-dss")


def fingerprint(public_key: str) -> str:
    """DigitalOcean's fingerprint: colon-separated MD5 of the key blob (422 if the key is malformed)."""
    parts = public_key.strip().split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise ApiError(422, "Key invalid, key should be of the format `type key [comment]`")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(422, "Key invalid, key should be of the format `type key [comment]`") from exc
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def find_key(store, ref) -> dict:
    """An SSH key by id or fingerprint, as the API's `{ssh_key_identifier}` allows."""
    ref = str(ref)
    key = store.get("ssh_keys", ref)
    if key is None:
        key = next((k for k in store.all("ssh_keys") if k["fingerprint"] == ref), None)
    if key is None:
        raise not_found("ssh key")
    return key


def register(api):
    @api.route("/v2/account", methods=["GET"])
    def get_account(ctx):
        return 200, {"account": ACCOUNT}

    @api.route("/v2/account/keys", methods=["GET"])
    def list_keys(ctx):
        return 200, ctx.paginate(sorted(ctx.store.all("ssh_keys"), key=lambda k: k["id"]), "ssh_keys")

    @api.route("/v2/account/keys", methods=["POST"])
    def create_key(ctx):
        body = ctx.json
        name, public_key = body.get("name"), body.get("public_key")
        if not name or not public_key:
            raise ApiError(422, "name and public_key are required")
        fp = fingerprint(public_key)
        if any(k["fingerprint"] == fp for k in ctx.store.all("ssh_keys")):
            raise ApiError(422, "SSH Key is already in use on your account")
        key_id = ctx.store.next_id("ssh_keys", start=40000000)
        key = {"id": key_id, "fingerprint": fp, "public_key": public_key.strip(), "name": name}
        ctx.store.put("ssh_keys", key_id, key)
        return 201, {"ssh_key": key}

    @api.route("/v2/account/keys/<ref>", methods=["GET"])
    def get_key(ctx, ref):
        return 200, {"ssh_key": find_key(ctx.store, ref)}

    @api.route("/v2/account/keys/<ref>", methods=["PUT"])
    def update_key(ctx, ref):
        key = find_key(ctx.store, ref)
        if "name" in ctx.json:
            if not ctx.json["name"]:
                raise ApiError(422, "name must not be empty")
            key["name"] = ctx.json["name"]
        return 200, {"ssh_key": key}

    @api.route("/v2/account/keys/<ref>", methods=["DELETE"])
    def delete_key(ctx, ref):
        key = find_key(ctx.store, ref)
        ctx.store.delete("ssh_keys", key["id"])
        return 204, None
