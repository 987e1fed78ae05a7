"""seaworthy.digitalocean.cdn_endpoint against the emulator, through real playbooks."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ORIGIN = "photos.sgp1.digitaloceanspaces.com"


def cdn(register="e", **args):
    return {"name": register, "seaworthy.digitalocean.cdn_endpoint": args, "register": register}


def endpoints_in(emulator):
    return list(emulator.state().get("cdn_endpoints", {}).values())


def upload_certificate(do_client, name, dns_name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    body = {
        "name": name,
        "type": "custom",
        "leaf_certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "private_key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    }
    return do_client.certificates.create(body)["certificate"]


def test_create_idempotent_update_custom_domain_and_delete(emulator, do_client, play):
    certificate = upload_certificate(do_client, "photos-cert", "photos.example.com")
    mark = emulator.mark()
    check = play([cdn(bucket="photos", region="sgp1", ttl=86400)], check=True, diff=True)
    assert check.changed == 1 and check.result("e")["diff"]["after"]["origin"] == ORIGIN
    assert emulator.writes(mark) == []

    created = play([cdn(bucket="photos", region="sgp1", ttl=86400)])
    assert created.rc == 0 and created.changed == 1, created.result("e")
    endpoint = created.result("e")["endpoint"]
    assert endpoint["endpoint"] == "photos.sgp1.cdn.digitaloceanspaces.com" and endpoint["ttl"] == 86400

    mark = emulator.mark()
    assert play([cdn(origin=ORIGIN, ttl=86400)]).changed == 0 and emulator.writes(mark) == []

    args = {"origin": ORIGIN, "custom_domain": "photos.example.com", "certificate": "photos-cert"}
    check = play([cdn(**args)], check=True, diff=True)
    assert check.changed == 1 and check.result("e")["diff"]["after"]["certificate_id"] == certificate["id"]
    assert emulator.writes(mark) == []
    domain = play([cdn(**args)])
    assert domain.rc == 0 and domain.changed == 1, domain.result("e")
    assert [w["body"] for w in emulator.writes(mark)] == [
        {"custom_domain": "photos.example.com", "certificate_id": certificate["id"]}
    ]
    assert play([cdn(**args)]).changed == 0

    ttl = play([cdn(id=endpoint["id"], ttl=600)])
    assert ttl.changed == 1 and endpoints_in(emulator)[0]["ttl"] == 600

    mark = emulator.mark()
    plain = play([cdn(origin=ORIGIN, custom_domain="")])
    assert plain.changed == 1 and endpoints_in(emulator)[0]["custom_domain"] == ""
    assert [w["body"] for w in emulator.writes(mark)] == [{"custom_domain": ""}]
    assert play([cdn(origin=ORIGIN, custom_domain="")]).changed == 0

    gone = play([cdn(origin=ORIGIN, state="absent")], diff=True)
    assert gone.changed == 1 and gone.result("e")["diff"]["before"]["origin"] == ORIGIN
    assert play([cdn(origin=ORIGIN, state="absent")]).changed == 0 and endpoints_in(emulator) == []


def test_bad_input_fails_before_any_write(emulator, do_client, play):
    upload_certificate(do_client, "other-cert", "other.example.com")
    mark = emulator.mark()
    tasks = {
        "origin": cdn(origin="photos.s3.amazonaws.com"),
        "ttl": cdn(origin=ORIGIN, ttl=5),
        "nocert": cdn(origin=ORIGIN, custom_domain="photos.example.com"),
        "cover": cdn(origin=ORIGIN, custom_domain="photos.example.com", certificate="other-cert"),
        "cert": cdn(origin=ORIGIN, custom_domain="photos.example.com", certificate="ghost"),
    }
    result = play([dict(t, name=k, register=k, ignore_errors=True) for k, t in tasks.items()])
    messages = {k: result.result(k)["msg"] for k in tasks}
    assert "is not a Spaces bucket host name" in messages["origin"]
    assert "value of ttl must be one of" in messages["ttl"]
    assert "needs certificate" in messages["nocert"]
    assert "covers other.example.com, not photos.example.com" in messages["cover"]
    assert "certificate 'ghost' not found" in messages["cert"]
    assert emulator.writes(mark) == [] and endpoints_in(emulator) == []


def test_create_answered_500_is_not_duplicated(emulator, play):
    emulator.inject(method="POST", path="^/v2/cdn/endpoints$", status=500, after_commit=True)
    result = play([cdn(origin=ORIGIN)])
    assert result.rc == 0, result.result("e")
    assert len(endpoints_in(emulator)) == 1
