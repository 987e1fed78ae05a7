"""Issue 4: Spaces is a real S3 endpoint (EMULATOR_BACKING=docker) that accepts the API's keys, and only them."""

from __future__ import annotations

import io
import json
import os
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.droplets import ready_for_ssh, trust_emulator_ca

from .test_docker_droplets import SIZE, address, ssh, wait_active

pytestmark = pytest.mark.docker

FULL = [{"bucket": "", "permission": "fullaccess"}]


def s3(emulator, key, region="nyc3"):
    env = emulator.client_env()
    return boto3.client(
        "s3",
        endpoint_url=env["DIGITALOCEAN_SPACES_ENDPOINT"],
        region_name=region,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        verify=env["AWS_CA_BUNDLE"],
    )


def new_key(client, grants, name="tests"):
    key = client.spaces_key.create({"name": name, "grants": grants})["key"]
    return key["access_key"], key["secret_key"]


def refused(call, *args, **kwargs) -> str:
    """The S3 error code the call fails with."""
    with pytest.raises(ClientError) as failure:
        call(*args, **kwargs)
    return failure.value.response["Error"]["Code"]


def test_a_bucket_accepts_and_returns_objects(docker_emulator, docker_client):
    client = s3(docker_emulator, new_key(docker_client, FULL))
    client.create_bucket(Bucket="seaworthy-backups")  # no LocationConstraint: the endpoint's region, as on Spaces
    assert client.get_bucket_location(Bucket="seaworthy-backups")["LocationConstraint"] == "nyc3"
    client.put_object(Bucket="seaworthy-backups", Key="daily/one.txt", Body=b"first backup")
    client.put_object(Bucket="seaworthy-backups", Key="daily/with space+plus.txt", Body=b"")
    big = os.urandom(9 * 1024 * 1024)  # above boto3's 8 MiB threshold: a multipart upload
    client.upload_fileobj(io.BytesIO(big), "seaworthy-backups", "daily/two.bin")

    assert client.get_object(Bucket="seaworthy-backups", Key="daily/one.txt")["Body"].read() == b"first backup"
    assert client.get_object(Bucket="seaworthy-backups", Key="daily/two.bin")["Body"].read() == big
    listed = client.list_objects_v2(Bucket="seaworthy-backups", Prefix="daily/")["Contents"]
    assert sorted((o["Key"], o["Size"]) for o in listed) == [
        ("daily/one.txt", 12),
        ("daily/two.bin", len(big)),
        ("daily/with space+plus.txt", 0),
    ]
    assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["seaworthy-backups"]

    client.delete_objects(Bucket="seaworthy-backups", Delete={"Objects": [{"Key": o["Key"]} for o in listed]})
    assert client.list_objects_v2(Bucket="seaworthy-backups")["KeyCount"] == 0
    client.delete_bucket(Bucket="seaworthy-backups")
    assert refused(client.head_bucket, Bucket="seaworthy-backups") == "404"


def test_only_keys_the_api_issued_are_accepted(docker_emulator, docker_client):
    access, secret = new_key(docker_client, FULL, "short-lived")
    assert s3(docker_emulator, (access, secret)).list_buckets()["Buckets"] is not None
    assert refused(s3(docker_emulator, ("DO" + "X" * 18, secret)).list_buckets) == "InvalidAccessKeyId"
    assert refused(s3(docker_emulator, (access, secret[:-1] + "x")).list_buckets) == "SignatureDoesNotMatch"
    docker_client.spaces_key.delete(access)
    assert refused(s3(docker_emulator, (access, secret)).list_buckets) == "InvalidAccessKeyId"


def test_grants_are_enforced_and_follow_updates(docker_emulator, docker_client):
    admin = s3(docker_emulator, new_key(docker_client, FULL, "admin"))
    for bucket in ("alpha-bucket", "beta-bucket"):
        admin.create_bucket(Bucket=bucket)
        admin.put_object(Bucket=bucket, Key="seed.txt", Body=bucket.encode())

    reader = s3(docker_emulator, new_key(docker_client, [{"bucket": "alpha-bucket", "permission": "read"}], "reader"))
    assert reader.get_object(Bucket="alpha-bucket", Key="seed.txt")["Body"].read() == b"alpha-bucket"
    assert [o["Key"] for o in reader.list_objects_v2(Bucket="alpha-bucket")["Contents"]] == ["seed.txt"]
    assert refused(reader.put_object, Bucket="alpha-bucket", Key="new.txt", Body=b"x") == "AccessDenied"
    assert refused(reader.get_object, Bucket="beta-bucket", Key="seed.txt") == "AccessDenied"
    assert refused(reader.create_bucket, Bucket="gamma-bucket") == "AccessDenied"
    assert refused(reader.list_buckets) == "AccessDenied"

    access, secret = new_key(docker_client, [{"bucket": "alpha-bucket", "permission": "readwrite"}], "writer")
    writer = s3(docker_emulator, (access, secret))
    writer.put_object(Bucket="alpha-bucket", Key="new.txt", Body=b"written")
    writer.delete_object(Bucket="alpha-bucket", Key="seed.txt")
    assert refused(writer.put_object, Bucket="beta-bucket", Key="new.txt", Body=b"x") == "AccessDenied"
    assert refused(writer.delete_bucket, Bucket="alpha-bucket") == "AccessDenied"

    docker_client.spaces_key.update(
        access, {"name": "writer", "grants": [{"bucket": "beta-bucket", "permission": "readwrite"}]}
    )
    writer.put_object(Bucket="beta-bucket", Key="new.txt", Body=b"now allowed")
    assert refused(writer.get_object, Bucket="alpha-bucket", Key="new.txt") == "AccessDenied"

    nothing = s3(docker_emulator, new_key(docker_client, [], "no-grants"))
    assert refused(nothing.get_object, Bucket="beta-bucket", Key="new.txt") == "AccessDenied"


def test_spaces_is_advertised(docker_emulator):
    spaces = docker_emulator.services["spaces"]
    env = docker_emulator.client_env()
    assert (
        env["DIGITALOCEAN_SPACES_ENDPOINT"]
        == spaces["endpoint"]
        == docker_emulator.app.backends.storage.endpoint("ams3")
    )
    with urllib.request.urlopen(f"{docker_emulator.http_url}/_emulator/health", timeout=10) as response:
        health = json.load(response)
    assert health["services"]["spaces"]["endpoint"] == spaces["endpoint"]


def test_a_droplet_backs_up_to_spaces_by_its_regional_name(docker_emulator, docker_client, ssh_key):
    """restic in a droplet, as a backup job would: https://nyc3.digitaloceanspaces.test, resolved by the emulator's DNS."""
    access, secret = new_key(docker_client, [{"bucket": "droplet-backups", "permission": "readwrite"}], "backup")
    admin = s3(docker_emulator, new_key(docker_client, FULL, "admin-2"))
    admin.create_bucket(Bucket="droplet-backups")
    key = docker_client.ssh_keys.create({"name": "spaces", "public_key": ssh_key.with_suffix(".pub").read_text()})
    droplet = docker_client.droplets.create({"name": "backup-1", "ssh_keys": [key["ssh_key"]["id"]], **SIZE})["droplet"]
    ip = ready_for_ssh(ssh_key, address(wait_active(docker_client, droplet["id"])))
    trust_emulator_ca(ssh_key, ip, docker_emulator.ca_cert)

    # virtual-host style name: DNS wildcard and certificate both cover <bucket>.<region>.digitaloceanspaces.test
    probe = ssh(
        ssh_key,
        ip,
        'python3 -c "import urllib.request, urllib.error\n'
        "try: urllib.request.urlopen('https://droplet-backups.nyc3.digitaloceanspaces.test/')\n"
        'except urllib.error.HTTPError as e: print(e.code)"',
    )
    assert probe.stdout.strip() == "403"  # reached, TLS verified, anonymous listing refused

    ssh(
        ssh_key,
        ip,
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic >/dev/null",
        timeout=300,
    )
    env = (
        f"AWS_ACCESS_KEY_ID={access} AWS_SECRET_ACCESS_KEY={secret} RESTIC_PASSWORD=test "
        "RESTIC_REPOSITORY=s3:https://nyc3.digitaloceanspaces.test/droplet-backups"
    )
    out = ssh(ssh_key, ip, f"{env} restic init && {env} restic backup /etc --quiet && {env} restic snapshots --json")
    assert '"paths":["/etc"]' in out.stdout, out.stderr
    stored = {o["Key"].split("/")[0] for o in admin.list_objects_v2(Bucket="droplet-backups")["Contents"]}
    assert {"config", "data", "index", "keys", "snapshots"} <= stored
