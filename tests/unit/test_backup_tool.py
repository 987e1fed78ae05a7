"""The backup role's streaming tool (roles/backup/files/seaworthy_backup.py) against moto's S3 server.

moto runs in-process (ThreadedMotoServer) on a free loopback port; a local HTTP server stands
for the failure webhook. Jobs of kind `path` exercise the whole pipeline (tar -> zstd/gzip ->
multipart upload -> manifest -> restore) without a database; the database jobs' commands are
checked as data (the molecule scenario `backup` runs them against real servers).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import typing
from pathlib import Path

import boto3
import pytest

TOOL = Path(__file__).resolve().parents[2] / "roles" / "backup" / "files" / "seaworthy_backup.py"
spec = importlib.util.spec_from_file_location("seaworthy_backup", TOOL)
sb = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = sb  # dataclasses look their module up
spec.loader.exec_module(sb)

BUCKET = "backups"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


class Receiver(http.server.BaseHTTPRequestHandler):
    received: typing.ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def do_GET(self):
        self.received.append({"ping": self.path})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Receiver.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Receiver.received
    server.shutdown()


@pytest.fixture
def env(tmp_path, moto_endpoint, webhook, request):
    """A fresh bucket, a source directory, and a configuration file; returns helpers."""
    bucket = f"{BUCKET}-{request.node.name.lower().replace('_', '-').replace('[', '-').replace(']', '')}"[:60]
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket=bucket)
    source = tmp_path / "uploads"
    (source / "nested").mkdir(parents=True)
    (source / "a.txt").write_text("alpha\n")
    (source / "nested" / "b.bin").write_bytes(os.urandom(200_000))
    url, received = webhook
    config = {
        "s3": {
            "endpoint": moto_endpoint,
            "bucket": bucket,
            "region": "us-east-1",
            "access_key": "test",
            "secret_key": "test",
            "prefix": "host1",
            "part_size_mb": 5,
        },
        "compression": "zstd",
        "state_dir": str(tmp_path / "state"),
        "retention": {"days": 30},
        "notify": {"webhook_url": url + "/hook", "healthcheck_url": url + "/ping"},
        "jobs": {
            "uploads": {"kind": "path", "paths": [str(source)]},
            "broken": {"kind": "path", "paths": [str(tmp_path / "does-not-exist")]},
        },
    }
    path = tmp_path / "config.json"

    class Env:
        pass

    e = Env()
    e.client, e.bucket, e.source, e.received, e.config, e.tmp = client, bucket, source, received, config, tmp_path

    def write(**changes):
        config.update(changes)
        path.write_text(json.dumps(config))
        return str(path)

    def run(*args):
        return sb.main(["--config", write(), *args])

    def keys():
        return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))

    e.write, e.run, e.keys = write, run, keys
    write()
    return e


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("compression", ["zstd", "gzip", "none"])
def test_backup_restores_byte_for_byte(env, compression, capsys):
    env.config["compression"] = compression
    assert env.run("run", "uploads") == 0
    manifest = json.loads(capsys.readouterr().out)
    keys = env.keys()
    assert keys == [manifest["key"], manifest["key"] + sb.MANIFEST_SUFFIX]
    stored = env.client.get_object(Bucket=env.bucket, Key=manifest["key"])["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == manifest["sha256"]
    assert len(stored) == manifest["size"]
    assert manifest["compression"] == compression
    ext = {"zstd": ".tar.zst", "gzip": ".tar.gz", "none": ".tar"}[compression]
    assert manifest["key"].startswith("host1/uploads/uploads-") and manifest["key"].endswith(ext)

    target = env.tmp / "restored"
    assert env.run("restore", "uploads", "--directory", str(target)) == 0
    restored = target / env.source.relative_to("/")
    assert tree(restored) == tree(env.source)

    assert (env.tmp / "state" / "uploads.last_success").read_text().startswith("20")
    assert {"ping": "/ping"} in env.received  # success: the health check is pinged, no webhook
    assert not [r for r in env.received if "status" in r]


def test_large_stream_uses_several_parts(env, capsys):
    (env.source / "big.bin").write_bytes(os.urandom(12 * sb.MIB))  # incompressible: 3 parts of 5 MiB
    assert env.run("run", "uploads") == 0
    manifest = json.loads(capsys.readouterr().out)
    head = env.client.head_object(Bucket=env.bucket, Key=manifest["key"], PartNumber=1)
    assert head["PartsCount"] == 3
    metadata = env.client.head_object(Bucket=env.bucket, Key=manifest["key"])["Metadata"]
    assert metadata["seaworthy-job"] == "uploads"
    assert env.run("verify-restore", "uploads") == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["sanity"] >= 4  # directories and files extracted
    assert (env.tmp / "state" / "uploads.verify-restore.last_success").exists()


def test_failed_backup_aborts_notifies_and_keeps_older(env, capsys):
    assert env.run("run", "uploads") == 0
    before = env.keys()
    assert env.run("run", "broken", "--now", "2030-01-01T00:00:00Z") == 1
    assert env.keys() == before  # no partial object, nothing pruned
    assert env.client.list_multipart_uploads(Bucket=env.bucket).get("Uploads", []) == []
    failures = [r for r in env.received if r.get("status") == "failure"]
    assert len(failures) == 1
    assert failures[0]["job"] == "broken" and "tar exited" in failures[0]["message"]
    assert not (env.tmp / "state" / "broken.last_success").exists()


def test_bad_credentials_fail_cleanly(env, monkeypatch):
    def refusing_client(config):
        client = boto3.client(
            "s3",
            endpoint_url=config["s3"]["endpoint"],
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
        )

        def deny(**kwargs):
            raise RuntimeError("InvalidAccessKeyId")

        client.create_multipart_upload = deny
        return client

    monkeypatch.setattr(sb, "s3_client", refusing_client)
    assert env.run("run", "uploads") == 1
    assert [r["message"] for r in env.received if r.get("status") == "failure"] == ["InvalidAccessKeyId"]


def put_backup(env, job: str, when: dt.datetime, manifest: bool = True) -> str:
    key = f"host1/{job}/{job}-{when.strftime(sb.STAMP_FORMAT)}.tar.zst"
    env.client.put_object(Bucket=env.bucket, Key=key, Body=b"x")
    if manifest:
        body = json.dumps({"key": key, "sha256": hashlib.sha256(b"x").hexdigest(), "compression": "zstd"})
        env.client.put_object(Bucket=env.bucket, Key=key + sb.MANIFEST_SUFFIX, Body=body.encode())
    return key


def test_prune_deletes_exactly_the_expired(env, capsys):
    now = dt.datetime(2026, 6, 30, 3, 0, tzinfo=dt.UTC)
    ages = [0, 1, 10, 29, 31, 45, 100]
    keys = {age: put_backup(env, "uploads", now - dt.timedelta(days=age)) for age in ages}
    stale_partial = put_backup(env, "uploads", now - dt.timedelta(days=3), manifest=False)
    fresh_partial = put_backup(env, "uploads", now - dt.timedelta(hours=2), manifest=False)
    assert env.run("prune", "uploads", "--dry-run", "--now", now.isoformat()) == 0
    assert len(env.keys()) == 2 * len(ages) + 2
    assert env.run("prune", "uploads", "--now", now.isoformat()) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    expected = {keys[31], keys[45], keys[100], stale_partial}
    assert set(out["deleted"]) == expected
    remaining = set(env.keys())
    for age in (0, 1, 10, 29):
        assert {keys[age], keys[age] + sb.MANIFEST_SUFFIX} <= remaining
    assert fresh_partial in remaining  # may still be running
    assert not any(k.startswith(tuple(expected)) for k in remaining)


def backups_at(*days_ago: float, now: dt.datetime) -> list:
    return [
        sb.Backup(f"j/j-{i}", now - dt.timedelta(days=d), 1, {"sha256": "x"})
        for i, d in enumerate(sorted(days_ago, reverse=True))
    ]


def test_retention_keeps_daily_weekly_monthly():
    now = dt.datetime(2026, 6, 30, 3, 0, tzinfo=dt.UTC)
    backups = backups_at(*range(0, 120), now=now)
    keep, delete = sb.retention_plan(backups, {"days": 0, "daily": 7, "weekly": 4, "monthly": 3}, now)
    kept_days = sorted(int((now - b.created).days) for b in keep)
    # 7 dailies (0-6), then the newest backup of the 4 most recent ISO weeks and of 3 months.
    assert kept_days[:7] == list(range(7))
    assert len(keep) + len(delete) == 120
    assert len({b.created.strftime("%G-%V") for b in keep}) >= 4
    assert {b.created.strftime("%Y-%m") for b in keep} >= {"2026-06", "2026-05", "2026-04"}
    assert len(keep) <= 7 + 4 + 3


def test_retention_always_keeps_the_newest():
    now = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)
    keep, delete = sb.retention_plan(backups_at(90, 60, now=now), {"days": 30}, now)
    assert [b.key for b in keep] == ["j/j-1"] and [b.key for b in delete] == ["j/j-0"]


def test_corrupt_backup_is_not_restored(env, capsys):
    assert env.run("run", "uploads") == 0
    manifest = json.loads(capsys.readouterr().out)
    manifest["sha256"] = "0" * 64
    env.client.put_object(
        Bucket=env.bucket, Key=manifest["key"] + sb.MANIFEST_SUFFIX, Body=json.dumps(manifest).encode()
    )
    target = env.tmp / "restored"
    assert env.run("restore", "uploads", "--directory", str(target)) == 1
    assert "checksum mismatch" in capsys.readouterr().err
    assert tree(target) == {}  # the single chunk was held back: tar never saw it


def test_live_restore_needs_confirmation(env, capsys):
    assert env.run("run", "uploads") == 0
    assert env.run("restore", "uploads", "--target", "live") == 2
    assert "--confirm-live" in capsys.readouterr().err


def test_local_copy(env, capsys):
    env.config["local_dir"] = str(env.tmp / "local")
    assert env.run("run", "uploads") == 0
    manifest = json.loads(capsys.readouterr().out)
    local = env.tmp / "local" / "uploads" / os.path.basename(manifest["key"])
    assert hashlib.sha256(local.read_bytes()).hexdigest() == manifest["sha256"]
    assert oct(local.stat().st_mode & 0o777) == "0o600"


def test_missing_job_and_bad_config(env, tmp_path, capsys):
    assert env.run("run", "nope") == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"s3": {"bucket": "b"}, "jobs": {}}))
    assert sb.main(["--config", str(bad), "list"]) == 2
    assert "s3.access_key is missing" in capsys.readouterr().err


def test_secrets_travel_in_the_environment_only():
    host = {"kind": "postgres", "database": "app", "host": "db.example", "port": 25060, "user": "doadmin",
            "password": "s3cret", "sslmode": "require"}  # fmt: skip
    command = sb.dump_command(host)
    assert command.argv[:2] == ["pg_dump", "-Fc"]
    assert "s3cret" not in " ".join(command.argv)
    assert command.env["PGPASSWORD"] == "s3cret"
    assert "sslmode=require" in command.argv[-1] and "host=db.example" in command.argv[-1]

    container = {"kind": "postgres", "database": "app", "container": "db", "user": "app", "password": "s3cret"}
    command = sb.dump_command(container)
    assert command.argv[:5] == ["docker", "exec", "-e", "PGPASSWORD", "db"]
    assert "s3cret" not in " ".join(command.argv)

    mysql = {"kind": "mysql", "database": "shop", "host": "db", "user": "u", "password": "s3cret"}
    command = sb.dump_command(mysql)
    assert command.argv[0] == "mysqldump" and "--single-transaction" in command.argv
    assert command.env == {"MYSQL_PWD": "s3cret"} and "s3cret" not in " ".join(command.argv)
    restore = sb.restore_command({**mysql, "container": "m"}, "scratch", "shop_restore_test", None)
    assert restore.argv[:6] == ["docker", "exec", "-i", "-e", "MYSQL_PWD", "m"]
    assert restore.argv[-1] == "shop_restore_test"


def test_volume_commands():
    direct = sb.dump_command({"kind": "volume", "volume": "media"})
    assert direct.argv == ["tar", "-C", "/var/lib/docker/volumes/media/_data", "-cf", "-", "."]
    docker = sb.dump_command({"kind": "volume", "volume": "media", "method": "docker", "image": "busybox"})
    assert docker.argv[:6] == ["docker", "run", "--rm", "-v", "media:/data:ro", "busybox"]


def test_encryption_commands():
    assert sb.encrypt_command({"method": "age", "recipients": ["age1a", "age1b"]}) == [
        "age", "-r", "age1a", "-r", "age1b"
    ]  # fmt: skip
    gpg = sb.encrypt_command({"method": "gpg", "recipients": ["ops@example.org"], "gpg_home": "/etc/x"})
    assert gpg[:3] == ["gpg", "--homedir", "/etc/x"] and "--encrypt" in gpg
    with pytest.raises(sb.ConfigError):
        sb.encrypt_command({"method": "age", "recipients": []})
    assert sb.decrypt_command("age", {"identity_file": "/root/key"}) == ["age", "-d", "-i", "/root/key"]


def test_setup_creates_the_bucket_and_its_lifecycle_rule(env, capsys):
    env.config["s3"]["bucket"] = "setup-new-bucket"
    assert env.run("setup", "--create-bucket", "--lifecycle-days", "40", "--check") == 0
    assert json.loads(capsys.readouterr().out)["changed"] is True
    assert env.run("setup", "--create-bucket", "--lifecycle-days", "40") == 0
    assert json.loads(capsys.readouterr().out)["changed"] is True
    rules = env.client.get_bucket_lifecycle_configuration(Bucket="setup-new-bucket")["Rules"]
    assert [(r["ID"], r["Expiration"]["Days"]) for r in rules] == [("seaworthy-backup-host1", 40)]
    assert env.run("setup", "--lifecycle-days", "40") == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False
    assert env.run("setup", "--lifecycle-days", "0") == 0
    assert json.loads(capsys.readouterr().out)["changed"] is True
    assert env.run("setup") == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False


@pytest.mark.skipif(not shutil.which("gpg"), reason="gpg is not installed")
def test_gpg_encrypted_backup_round_trip(env, capsys):
    home = env.tmp / "gnupg"
    home.mkdir(mode=0o700)
    subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), "--pinentry-mode", "loopback", "--passphrase", "",
         "--quick-gen-key", "backup@example.org", "default", "default", "1d"],
        check=True, capture_output=True,
    )  # fmt: skip
    env.config["encryption"] = {"method": "gpg", "recipients": ["backup@example.org"], "gpg_home": str(home)}
    assert env.run("run", "uploads") == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["key"].endswith(".tar.zst.gpg") and manifest["encryption"] == "gpg"
    stored = env.client.get_object(Bucket=env.bucket, Key=manifest["key"])["Body"].read()
    assert b"alpha" not in stored and stored[:1] in (b"\x84", b"\x85", b"\xc1")  # an OpenPGP packet
    target = env.tmp / "restored"
    assert env.run("restore", "uploads", "--directory", str(target)) == 0
    assert tree(target / env.source.relative_to("/")) == tree(env.source)


PG_IMAGE = "seaworthy/dbaas-postgres:debian-13"


def _image_present(image: str) -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode == 0


@pytest.mark.docker
@pytest.mark.skipif(not _image_present(PG_IMAGE), reason=f"needs Docker and {PG_IMAGE} (make setup)")
def test_postgres_container_mode_backup_and_restore_test(env, capsys):
    """`docker exec` mode end to end: dump in the container, restore test into a scratch database."""
    name = f"seaworthy-unit-backup-pg-{os.getpid()}"
    make_cert = (
        "mkdir -p /etc/seaworthy-db && cd /etc/seaworthy-db && openssl req -x509 -newkey rsa:2048 -nodes -days 1"
        " -subj /CN=t -keyout server.key -out server.crt 2>/dev/null && cp server.crt ca.pem"
        " && exec /usr/local/sbin/db-entrypoint"
    )
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "--init", "--label", "io.seaworthy.owner=pytest",
         "--entrypoint", "/bin/bash", PG_IMAGE, "-c", make_cert],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        for _ in range(120):
            if subprocess.run(["docker", "exec", name, "pg_isready", "-q"], check=False).returncode == 0:
                break
            time.sleep(0.5)
        sql = (
            "CREATE DATABASE app;\n\\c app\nCREATE TABLE t (id int PRIMARY KEY, v text);\n"
            "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g;\n"
        )
        subprocess.run(["docker", "exec", "-i", "-u", "postgres", name, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"],
                       input=sql.encode(), check=True, capture_output=True)  # fmt: skip
        env.config["jobs"]["app"] = {
            "kind": "postgres", "container": name, "container_user": "postgres", "user": "postgres",
            "database": "app", "sanity_query": "SELECT count(*) FROM t", "sanity_min": 5000,
        }  # fmt: skip
        assert env.run("run", "app") == 0
        manifest = json.loads(capsys.readouterr().out)
        assert manifest["kind"] == "postgres" and manifest["key"].endswith(".dump.zst")
        assert env.run("verify-restore", "app", "--keep") == 0
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert result["database"] == "app_restore_test" and result["sanity"] == 5000
        fingerprint = "SELECT md5(string_agg(id || v, ',' ORDER BY id)) FROM t"
        psql = ["docker", "exec", "-u", "postgres", name, "psql", "-X", "-At", "-c", fingerprint, "-d"]
        sums = [
            subprocess.run([*psql, db], check=True, capture_output=True, text=True).stdout
            for db in ("app", "app_restore_test")
        ]
        assert sums[0] == sums[1] and len(sums[0].strip()) == 32
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)
