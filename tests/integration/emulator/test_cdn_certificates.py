"""Certificates and CDN endpoints through pydo, against the spec."""

from __future__ import annotations

import datetime

import pytest
from azure.core.exceptions import HttpResponseError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(*names: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, private.decode()


def test_custom_certificate_lifecycle(do_client):
    leaf, key = self_signed("cdn.example.com", "www.example.com")
    created = do_client.certificates.create(
        {"name": "cdn", "type": "custom", "leaf_certificate": leaf, "private_key": key}
    )
    certificate = created["certificate"]
    assert certificate["state"] == "verified" and certificate["dns_names"] == ["cdn.example.com", "www.example.com"]
    assert len(certificate["sha1_fingerprint"]) == 40
    assert [c["id"] for c in do_client.certificates.list()["certificates"]] == [certificate["id"]]
    assert do_client.certificates.get(certificate["id"])["certificate"]["name"] == "cdn"
    do_client.certificates.delete(certificate["id"])
    assert do_client.certificates.list()["certificates"] == []


def test_mismatched_key_is_refused(do_client):
    leaf, _ = self_signed("a.example.com")
    _, other_key = self_signed("b.example.com")
    with pytest.raises(HttpResponseError, match="does not match"):
        do_client.certificates.create(
            {"name": "bad", "type": "custom", "leaf_certificate": leaf, "private_key": other_key}
        )


def test_lets_encrypt_needs_a_managed_domain_and_becomes_verified(do_client):
    with pytest.raises(HttpResponseError, match="not in a domain managed"):
        do_client.certificates.create({"name": "le", "type": "lets_encrypt", "dns_names": ["shop.example.org"]})
    do_client.domains.create({"name": "example.org"})
    pending = do_client.certificates.create({"name": "le", "type": "lets_encrypt", "dns_names": ["shop.example.org"]})
    assert pending["certificate"]["state"] == "pending"
    assert do_client.certificates.get(pending["certificate"]["id"])["certificate"]["state"] == "verified"


def test_cdn_endpoint_for_a_bucket_with_custom_domain(do_client):
    leaf, key = self_signed("photos.example.com")
    certificate = do_client.certificates.create(
        {"name": "photos", "type": "custom", "leaf_certificate": leaf, "private_key": key}
    )["certificate"]
    origin = "ma-electrical-photos.sgp1.digitaloceanspaces.com"
    endpoint = do_client.cdn.create_endpoint({"origin": origin, "ttl": 3600})["endpoint"]
    assert endpoint["endpoint"] == "ma-electrical-photos.sgp1.cdn.digitaloceanspaces.com"
    updated = do_client.cdn.update_endpoints(
        endpoint["id"], {"ttl": 86400, "certificate_id": certificate["id"], "custom_domain": "photos.example.com"}
    )["endpoint"]
    assert (updated["ttl"], updated["custom_domain"]) == (86400, "photos.example.com")
    with pytest.raises(HttpResponseError, match="in use"):
        do_client.certificates.delete(certificate["id"])
    do_client.cdn.purge_cache(endpoint["id"], {"files": ["*"]})
    assert [e["origin"] for e in do_client.cdn.list_endpoints()["endpoints"]] == [origin]
    do_client.cdn.delete_endpoint(endpoint["id"])
    assert do_client.cdn.list_endpoints()["endpoints"] == []


def test_cdn_endpoint_rules(do_client):
    with pytest.raises(HttpResponseError, match="must be a Spaces bucket"):
        do_client.cdn.create_endpoint({"origin": "example.com"})
    origin = "bucket-1.nyc3.digitaloceanspaces.com"
    with pytest.raises(HttpResponseError, match="needs a certificate_id"):
        do_client.cdn.create_endpoint({"origin": origin, "custom_domain": "cdn.example.com"})
    assert do_client.cdn.list_endpoints()["endpoints"] == [], "a refused create leaves nothing"
