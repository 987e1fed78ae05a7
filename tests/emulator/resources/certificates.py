"""Certificates (`/v2/certificates`): uploaded (custom) and Let's Encrypt ones, for load balancers and CDN."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID

from ..errors import ApiError, not_found
from ..store import new_uuid, now_iso


def find_certificate(store, certificate_id: str) -> dict:
    certificate = store.get("certificates", certificate_id)
    if certificate is None:
        raise not_found("certificate")
    return certificate


def _custom(body: dict) -> dict:
    leaf, key = body.get("leaf_certificate"), body.get("private_key")
    if not leaf or not key:
        raise ApiError(422, "A custom certificate needs leaf_certificate and private_key.")
    try:
        cert = x509.load_pem_x509_certificate(leaf.encode())
        private = serialization.load_pem_private_key(key.encode(), password=None)
    except ValueError as exc:
        raise ApiError(422, f"The certificate or private key is not valid PEM: {exc}") from exc
    if private.public_key().public_numbers() != cert.public_key().public_numbers():
        raise ApiError(422, "The private key does not match the certificate.")
    try:
        names = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        names = []
    return {
        "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sha1_fingerprint": hashlib.sha1(
            cert.public_bytes(serialization.Encoding.DER), usedforsecurity=False
        ).hexdigest(),
        "dns_names": list(names),
        "state": "verified",
    }


def _lets_encrypt(store, body: dict) -> dict:
    names = body.get("dns_names") or []
    if not names:
        raise ApiError(422, "A Let's Encrypt certificate needs dns_names.")
    domains = {d["name"] for d in store.all("domains")}
    for name in names:
        if not any(name == d or name.endswith("." + d) for d in domains):
            raise ApiError(422, f"{name} is not in a domain managed by DigitalOcean DNS in this account.")
    return {"sha1_fingerprint": "", "dns_names": list(names), "state": "pending"}  # not_after once issued


def register(api):
    @api.route("/v2/certificates", methods=["GET"])
    def list_certificates(ctx):
        items = sorted(ctx.store.all("certificates"), key=lambda c: c["created_at"])
        if ctx.query.get("name"):
            items = [c for c in items if c["name"] == ctx.query["name"]]
        return 200, ctx.paginate(items, "certificates")

    @api.route("/v2/certificates", methods=["POST"])
    def create_certificate(ctx):
        body = ctx.json
        name, kind = body.get("name"), body.get("type") or "custom"
        if not name:
            raise ApiError(422, "name is required.")
        if any(c["name"] == name for c in ctx.store.all("certificates")):
            raise ApiError(422, f"A certificate named {name!r} already exists.")
        details = _custom(body) if kind == "custom" else _lets_encrypt(ctx.store, body)
        certificate = {"id": new_uuid(), "name": name, "created_at": now_iso(), "type": kind, **details}
        ctx.store.put("certificates", certificate["id"], certificate)
        if kind == "lets_encrypt":

            def issued():
                expires = datetime.now(UTC) + timedelta(days=90)  # Let's Encrypt's lifetime
                certificate.update(state="verified", not_after=expires.strftime("%Y-%m-%dT%H:%M:%SZ"))
                certificate["sha1_fingerprint"] = hashlib.sha1(
                    certificate["id"].encode(), usedforsecurity=False
                ).hexdigest()

            ctx.store.schedule(ctx.config.delay_action, issued)
        return 201, {"certificate": certificate}

    @api.route("/v2/certificates/<certificate_id>", methods=["GET"])
    def get_certificate(ctx, certificate_id):
        return 200, {"certificate": find_certificate(ctx.store, certificate_id)}

    @api.route("/v2/certificates/<certificate_id>", methods=["DELETE"])
    def delete_certificate(ctx, certificate_id):
        certificate = find_certificate(ctx.store, certificate_id)
        users = [e["id"] for e in ctx.store.all("cdn_endpoints") if e.get("certificate_id") == certificate["id"]]
        users += [
            b["id"]
            for b in ctx.store.all("load_balancers")
            if any(r.get("certificate_id") == certificate["id"] for r in b.get("forwarding_rules") or [])
        ]
        if users:
            raise ApiError(409, f"The certificate is in use by {', '.join(users)}.")
        ctx.store.delete("certificates", certificate["id"])
        return 204, None
