"""seaworthy-backup: streamed, checksummed, retained database and file backups to S3.

Installed by the seaworthy.digitalocean.backup role in /usr/local/lib/seaworthy-backup/ (run
by /usr/local/bin/seaworthy-backup) and driven by systemd timers. Every job in the
configuration (JSON, root-only, 0600: it holds the S3 keys and database passwords) is one of:

    postgres  pg_dump -Fc, from the host (managed databases: sslmode=require) or `docker exec`
    mysql     mysqldump --single-transaction, from the host or `docker exec`
    volume    tar of a named Docker volume (its _data directory, or through `docker run`)
    path      tar of host paths

A backup streams: dump -> zstd/gzip -> (age/gpg) -> S3 multipart upload, one part in memory
at a time per uploader; the sha256 of the stored bytes is computed on the way and written to
a sidecar manifest (<key>.manifest.json) once the object is complete. Any failing stage aborts
the multipart upload, so no partial object is ever left. A backup without a manifest is
incomplete and is never restored or counted as a kept backup.

    seaworthy-backup run JOB                 back up now (webhook on failure, ping on success)
    seaworthy-backup list [JOB] [--json]
    seaworthy-backup prune [JOB] [--dry-run] [--now ISO]
    seaworthy-backup restore JOB [--backup KEY] --target scratch|live [--confirm-live]
    seaworthy-backup verify-restore JOB      restore the latest into scratch, run a sanity query
    seaworthy-backup notify-failure UNIT     (OnFailure=) report a unit that failed unreported

Exit status: 0 success, 1 the operation failed, 2 bad configuration or usage.
"""

# ruff: noqa: S603, S607 (subprocesses are argument lists built from the root-owned configuration)

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from dataclasses import dataclass, field

VERSION = "1.0.0"
DEFAULT_CONFIG = "/etc/seaworthy-backup/config.json"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
MANIFEST_SUFFIX = ".manifest.json"
MIB = 1024 * 1024
KINDS = ("postgres", "mysql", "volume", "path")
COMPRESSORS = {
    "zstd": (".zst", ["zstd", "-q", "-c", "-T0"], ["zstd", "-q", "-d", "-c"]),
    "gzip": (".gz", ["gzip", "-c"], ["gzip", "-d", "-c"]),
    "none": ("", None, None),
}
KEY_PATTERN = re.compile(r"-(\d{8}T\d{6}Z)\.[a-z.]+$")


class BackupError(Exception):
    """A failure to report: the message goes to the log and the webhook."""


class ConfigError(BackupError):
    """The configuration or the command line is wrong (exit 2)."""


# --- configuration -------------------------------------------------------------------------


def load_config(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    s3 = config.get("s3") or {}
    for key in ("bucket", "access_key", "secret_key"):
        if not s3.get(key):
            raise ConfigError(f"{path}: s3.{key} is missing")
    for name, job in (config.get("jobs") or {}).items():
        if job.get("kind") not in KINDS:
            raise ConfigError(f"{path}: job {name}: kind must be one of {', '.join(KINDS)}")
    if config.get("compression", "zstd") not in COMPRESSORS:
        raise ConfigError(f"{path}: compression must be one of {', '.join(COMPRESSORS)}")
    return config


def job_config(config: dict, name: str) -> dict:
    jobs = config.get("jobs") or {}
    if name not in jobs:
        raise ConfigError(f"no job named {name!r} (jobs: {', '.join(sorted(jobs)) or 'none'})")
    return {"name": name, **jobs[name]}


def now_utc(override: str | None = None) -> dt.datetime:
    """The current time, or the one given (--now / SEAWORTHY_BACKUP_NOW): a clock for tests."""
    value = override or os.environ.get("SEAWORTHY_BACKUP_NOW")
    if value:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)


_clients: list[tuple[dict, object]] = []


def s3_client(config: dict):
    """One client per configuration and process (building one costs seconds on a small droplet)."""
    for known, client in _clients:
        if known is config:
            return client
    client = _new_client(config)
    _clients.append((config, client))
    return client


def _new_client(config: dict):
    import boto3
    from botocore.config import Config

    s3 = config["s3"]
    return boto3.client(
        "s3",
        endpoint_url=s3.get("endpoint") or None,
        region_name=s3.get("region") or "us-east-1",
        aws_access_key_id=s3["access_key"],
        aws_secret_access_key=s3["secret_key"],
        verify=s3.get("ca_bundle") or s3.get("validate_certs", True),
        config=Config(
            s3={"addressing_style": s3.get("addressing_style", "path")},
            retries={"max_attempts": 5, "mode": "standard"},
            signature_version="s3v4",
            # Spaces and MinIO reject the flexible checksums of newer botocore on multipart uploads.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def job_prefix(config: dict, job: str) -> str:
    prefix = (config["s3"].get("prefix") or "").strip("/")
    return f"{prefix}/{job}/" if prefix else f"{job}/"


# --- building commands ---------------------------------------------------------------------


@dataclass
class Command:
    """A command and the environment it needs: secrets travel in the environment only."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def _in_container(job: dict, argv: list[str], env: dict[str, str], stdin: bool = False) -> Command:
    """`docker exec` into the job's container; variables are named on the command line, not valued."""
    prefix = ["docker", "exec"] + (["-i"] if stdin else [])
    for name in env:
        prefix += ["-e", name]
    if job.get("container_user"):
        prefix += ["-u", job["container_user"]]
    return Command([*prefix, job["container"], *argv], env)


def _pg_connection(job: dict, database: str) -> tuple[list[str], dict[str, str]]:
    env: dict[str, str] = {}
    if job.get("password"):
        env["PGPASSWORD"] = str(job["password"])
    if job.get("container"):
        args = ["-U", job.get("user") or "postgres", "-d", database]
        return args, env
    conninfo = {
        "host": job.get("host") or "localhost",
        "port": str(job.get("port") or 5432),
        "user": job.get("user") or "postgres",
        "dbname": database,
        "sslmode": job.get("sslmode") or "prefer",
    }
    if job.get("sslrootcert"):
        conninfo["sslrootcert"] = job["sslrootcert"]
    env["PGCONNECT_TIMEOUT"] = str(job.get("connect_timeout", 15))
    dsn = " ".join(f"{key}={value}" for key, value in conninfo.items())
    return ["-d", dsn], env


def _my_connection(job: dict) -> tuple[list[str], dict[str, str]]:
    env: dict[str, str] = {}
    if job.get("password"):
        env["MYSQL_PWD"] = str(job["password"])
    args = ["--user=" + (job.get("user") or "root")]
    if not job.get("container"):
        args += [f"--host={job.get('host') or 'localhost'}", f"--port={job.get('port') or 3306}"]
        if job.get("ssl", False):
            args += ["--ssl"]
            if job.get("ssl_ca"):
                args += [f"--ssl-ca={job['ssl_ca']}"]
    return args, env


def _mysql_program(job: dict, mysql_name: str, mariadb_name: str) -> str:
    """MySQL's name when the host has it (MySQL, older MariaDB), else MariaDB's own (11.x drops the aliases).

    In a container the MariaDB name is used: the official images of MariaDB >= 11 have only those.
    """
    if job.get("container") or (not shutil.which(mysql_name) and shutil.which(mariadb_name)):
        return mariadb_name
    return mysql_name


def _wrap(job: dict, argv: list[str], env: dict[str, str], stdin: bool = False) -> Command:
    return _in_container(job, argv, env, stdin) if job.get("container") else Command(argv, env)


def _volume_dir(job: dict) -> str:
    return os.path.join(job.get("docker_root", "/var/lib/docker"), "volumes", job["volume"], "_data")


def dump_command(job: dict) -> Command:
    kind = job["kind"]
    if kind == "postgres":
        conn, env = _pg_connection(job, job["database"])
        # The stream is compressed after pg_dump: its own zlib would be paid for twice.
        raw = ["--compress=0"] if job.get("_compressed_later") else []
        return _wrap(job, ["pg_dump", "-Fc", *raw, "--no-password", *job.get("options", []), *conn], env)
    if kind == "mysql":
        conn, env = _my_connection(job)
        dump = job.get("dump_command") or _mysql_program(job, "mysqldump", "mariadb-dump")
        argv = [dump, *conn, "--single-transaction", "--routines", "--triggers", "--events"]
        return _wrap(job, [*argv, *job.get("options", []), job["database"]], env)
    if kind == "volume":
        if job.get("method", "direct") == "docker":
            image = job.get("image") or "debian:stable-slim"
            mount = f"{job['volume']}:/data:ro"
            return Command(["docker", "run", "--rm", "-v", mount, image, "tar", "-C", "/data", "-cf", "-", "."])
        return Command(["tar", "-C", _volume_dir(job), "-cf", "-", "."])
    # path: stored relative to / so that a live restore puts every file back where it was
    excludes = [f"--exclude={pattern}" for pattern in job.get("exclude", [])]
    paths = [path.lstrip("/") or "." for path in job["paths"]]
    return Command(["tar", "-C", "/", "-cf", "-", *excludes, "--", *paths])


def dump_extension(job: dict) -> str:
    return {"postgres": ".dump", "mysql": ".sql", "volume": ".tar", "path": ".tar"}[job["kind"]]


def encrypt_command(encryption: dict) -> list[str] | None:
    method = encryption.get("method", "none")
    recipients = encryption.get("recipients") or []
    if method == "none":
        return None
    if not recipients:
        raise ConfigError(f"encryption {method} needs at least one recipient")
    if method == "age":
        return ["age", *[arg for r in recipients for arg in ("-r", r)]]
    if method == "gpg":
        argv = ["gpg", "--batch", "--quiet", "--no-tty", "--trust-model", "always", "--encrypt"]
        if encryption.get("gpg_home"):
            argv[1:1] = ["--homedir", encryption["gpg_home"]]
        return [*argv, *[arg for r in recipients for arg in ("-r", r)], "--output", "-"]
    raise ConfigError(f"encryption method must be none, age or gpg, not {method!r}")


def decrypt_command(method: str, encryption: dict) -> list[str] | None:
    if method == "none":
        return None
    if method == "age":
        identity = encryption.get("identity_file")
        if not identity:
            raise ConfigError("restoring an age-encrypted backup needs encryption.identity_file")
        return ["age", "-d", "-i", identity]
    argv = ["gpg", "--batch", "--quiet", "--no-tty", "--decrypt"]
    if encryption.get("gpg_home"):
        argv[1:1] = ["--homedir", encryption["gpg_home"]]
    return argv


# --- pipelines -----------------------------------------------------------------------------


class Pipeline:
    """Processes chained stdout -> stdin; each one's stderr kept (bounded) for the error report."""

    def __init__(self, commands: list[Command], stdin=None, stdout=subprocess.PIPE):
        self.procs: list[tuple[list[str], subprocess.Popen, object]] = []
        self.stdin = None
        upstream = stdin
        try:
            for index, command in enumerate(commands):
                last = index == len(commands) - 1
                err = tempfile.TemporaryFile()  # noqa: SIM115 (closed in wait())
                env = {**os.environ, **command.env}
                proc = subprocess.Popen(
                    command.argv,
                    stdin=upstream,
                    stdout=stdout if last else subprocess.PIPE,
                    stderr=err,
                    env=env,
                )
                if upstream is not None and upstream not in (subprocess.PIPE, stdin):
                    upstream.close()  # the child holds it now: EOF and SIGPIPE propagate
                if index == 0 and stdin == subprocess.PIPE:
                    self.stdin = proc.stdin
                upstream = proc.stdout
                self.procs.append((command.argv, proc, err))
        except FileNotFoundError as exc:
            self.kill()
            raise BackupError(f"{exc.filename} is not installed") from exc
        self.stdout = upstream

    def kill(self) -> None:
        for _argv, proc, _err in self.procs:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    def wait(self) -> list[str]:
        """Wait for every process; the failures, described (empty when all succeeded)."""
        failures = []
        for argv, proc, err in self.procs:
            code = proc.wait()
            if code != 0:
                err.seek(0)
                tail = err.read()[-2000:].decode(errors="replace").strip()
                failures.append(f"{argv[0] if argv[0] != 'docker' else ' '.join(argv[:2])} exited {code}: {tail}")
            err.close()
        return failures


def _read_full(stream, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def upload_stream(client, bucket: str, key: str, stream, part_size: int, metadata: dict, local_copy=None) -> dict:
    """Multipart-upload everything `stream` yields; sha256 and size of the bytes, or raise (aborted)."""
    upload = client.create_multipart_upload(Bucket=bucket, Key=key, Metadata=metadata)
    upload_id = upload["UploadId"]
    digest, size, parts = hashlib.sha256(), 0, []
    # One uploader thread, at most one part waiting for it: reading, compressing and uploading
    # overlap while at most three parts are in memory.
    pending: queue.Queue = queue.Queue(maxsize=1)
    errors: list[BaseException] = []

    def uploader() -> None:
        while True:
            item = pending.get()
            if item is None:
                return
            number, body = item
            if errors:
                continue
            try:
                response = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
                parts.append({"PartNumber": number, "ETag": response["ETag"]})
            except BaseException as exc:  # reported by the reader, which aborts the upload
                errors.append(exc)

    thread = threading.Thread(target=uploader, daemon=True)
    thread.start()
    try:
        number = 0
        while not errors:
            body = _read_full(stream, part_size)
            if not body and number > 0:
                break
            number += 1
            digest.update(body)
            size += len(body)
            if local_copy is not None:
                local_copy.write(body)
            pending.put((number, body))
            if len(body) < part_size:
                break
        pending.put(None)
        thread.join()
        if errors:
            raise BackupError(f"uploading {key} failed: {errors[0]}") from errors[0]
        return {"sha256": digest.hexdigest(), "size": size, "upload_id": upload_id, "parts": parts}
    except BaseException:
        if thread.is_alive():
            with contextlib.suppress(queue.Full):
                pending.put_nowait(None)
        with contextlib.suppress(Exception):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


# --- listing and retention -----------------------------------------------------------------


@dataclass
class Backup:
    key: str
    created: dt.datetime
    size: int
    manifest: dict | None

    @property
    def complete(self) -> bool:
        return self.manifest is not None


def list_backups(client, config: dict, job: str) -> list[Backup]:
    """The job's backups, oldest first (by the time in their names, which is when they started)."""
    bucket, prefix = config["s3"]["bucket"], job_prefix(config, job)
    objects: dict[str, int] = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            objects[item["Key"]] = item["Size"]
    backups = []
    for key, size in objects.items():
        if key.endswith(MANIFEST_SUFFIX):
            continue
        match = KEY_PATTERN.search(key)
        if not match:
            continue
        created = dt.datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=dt.UTC)
        manifest = None
        if key + MANIFEST_SUFFIX in objects:
            body = client.get_object(Bucket=bucket, Key=key + MANIFEST_SUFFIX)["Body"].read()
            manifest = json.loads(body)
        backups.append(Backup(key, created, size, manifest))
    return sorted(backups, key=lambda b: (b.created, b.key))


def retention_plan(backups: list[Backup], policy: dict, now: dt.datetime) -> tuple[list[Backup], list[Backup]]:
    """(keep, delete): within `days`, plus the newest of each of the last N days/weeks/months.

    The newest complete backup is always kept, whatever its age: retention never leaves a job
    with nothing to restore. Incomplete backups (no manifest: an interrupted or failed run
    that could not clean up) go once they are older than a day.
    """
    days = int(policy.get("days", 30) or 0)
    counts = {period: int(policy.get(period, 0) or 0) for period in ("daily", "weekly", "monthly")}
    complete = [b for b in backups if b.complete]
    keep: set[str] = set()
    if complete:
        keep.add(complete[-1].key)
    if days > 0:
        keep.update(b.key for b in complete if now - b.created < dt.timedelta(days=days))
    buckets = {
        "daily": lambda t: t.strftime("%Y-%m-%d"),
        "weekly": lambda t: "{}-W{:02d}".format(*t.isocalendar()[:2]),
        "monthly": lambda t: t.strftime("%Y-%m"),
    }
    for period, count in counts.items():
        seen: list[str] = []
        for backup in reversed(complete):
            slot = buckets[period](backup.created)
            if slot in seen:
                continue
            if len(seen) == count:
                break
            seen.append(slot)
            keep.add(backup.key)
    if days <= 0 and not any(counts.values()):
        keep.update(b.key for b in complete)  # no policy: keep everything
    delete = [b for b in backups if b.key not in keep and (b.complete or now - b.created > dt.timedelta(days=1))]
    return [b for b in backups if b.key in keep], delete


def prune_job(client, config: dict, job: dict, now: dt.datetime, dry_run: bool = False) -> list[str]:
    policy = {**(config.get("retention") or {}), **(job.get("retention") or {})}
    _keep, delete = retention_plan(list_backups(client, config, job["name"]), policy, now)
    keys = [b.key for b in delete]
    if keys and not dry_run:
        objects = [{"Key": k} for key in keys for k in (key, key + MANIFEST_SUFFIX)]
        for start in range(0, len(objects), 1000):
            client.delete_objects(
                Bucket=config["s3"]["bucket"], Delete={"Objects": objects[start : start + 1000], "Quiet": True}
            )
        local_dir = config.get("local_dir")
        if local_dir:
            for key in keys:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(local_dir, job["name"], os.path.basename(key)))
    return keys


# --- notifications -------------------------------------------------------------------------


def _post_json(url: str, payload: dict, timeout: int = 15) -> None:
    request = urllib.request.Request(  # noqa: S310 (the URL comes from the root-owned configuration)
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        response.read()


def notify(config: dict, job: str, action: str, ok: bool, message: str) -> None:
    """Webhook on failure (and on success when asked), health-check ping on success; never raises."""
    settings = config.get("notify") or {}
    host = socket.getfqdn()
    webhook = settings.get("webhook_url")
    if webhook and (not ok or settings.get("on_success")):
        status = "succeeded" if ok else "FAILED"
        text = f"[{host}] seaworthy-backup {action} {job} {status}: {message}"
        style = settings.get("webhook_format", "generic")
        if style == "slack":
            payload = {"text": text}
        elif style == "discord":
            payload = {"content": text[:2000]}
        else:
            payload = {
                "host": host,
                "job": job,
                "action": action,
                "status": "success" if ok else "failure",
                "message": message,
                "time": now_utc().isoformat(),
            }
        try:
            _post_json(webhook, payload)
        except Exception as exc:
            print(f"seaworthy-backup: the webhook failed: {exc}", file=sys.stderr)
    jobs = config.get("jobs") or {}
    ping = (jobs.get(job) or {}).get("healthcheck_url") or settings.get("healthcheck_url")
    if ok and ping and action == "run":
        try:
            with urllib.request.urlopen(ping, timeout=15) as response:  # noqa: S310
                response.read()
        except Exception as exc:
            print(f"seaworthy-backup: the health-check ping failed: {exc}", file=sys.stderr)


def state_dir(config: dict) -> str:
    return config.get("state_dir") or "/var/lib/seaworthy-backup"


def write_state(config: dict, name: str, content: str) -> None:
    directory = state_dir(config)
    os.makedirs(directory, mode=0o750, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(content)
    os.replace(path + ".tmp", path)


def reported(config: dict, job: str, action: str, ok: bool, message: str) -> None:
    """Record the outcome (last_success timestamp; the invocation already reported) and notify."""
    suffix = "" if action == "run" else f".{action}"
    if ok:
        write_state(config, f"{job}{suffix}.last_success", now_utc().strftime("%Y-%m-%dT%H:%M:%SZ") + "\n")
    else:
        invocation = os.environ.get("INVOCATION_ID", "")
        if invocation:
            write_state(config, f"{job}{suffix}.reported", invocation + "\n")
    notify(config, job, action, ok, message)


# --- operations ----------------------------------------------------------------------------


def run_backup(config: dict, job: dict, now: dt.datetime | None = None) -> dict:
    now = now or now_utc()
    client = s3_client(config)
    compression = config.get("compression", "zstd")
    extension, compress = COMPRESSORS[compression][:2]
    encryption = config.get("encryption") or {}
    encrypt = encrypt_command(encryption)
    enc_ext = {"age": ".age", "gpg": ".gpg"}.get(encryption.get("method", "none"), "")
    name = f"{job['name']}-{now.strftime(STAMP_FORMAT)}{dump_extension(job)}{extension}{enc_ext}"
    key = job_prefix(config, job["name"]) + name
    commands = [dump_command({**job, "_compressed_later": compress is not None})]
    if compress:
        level = config.get("compression_level")
        commands.append(Command(compress + ([f"-{level}"] if level else [])))
    if encrypt:
        commands.append(Command(encrypt))
    bucket = config["s3"]["bucket"]
    metadata = {
        "seaworthy-job": job["name"],
        "seaworthy-kind": job["kind"],
        "seaworthy-compression": compression,
        "seaworthy-encryption": encryption.get("method", "none"),
    }
    part_size = max(5, int(config["s3"].get("part_size_mb", 16))) * MIB
    local_dir = config.get("local_dir")
    local_path = os.path.join(local_dir, job["name"], name) if local_dir else None
    local_copy = None
    if local_path:
        os.makedirs(os.path.dirname(local_path), mode=0o700, exist_ok=True)
        local_copy = open(local_path + ".partial", "wb")  # noqa: SIM115 (closed below on every path)
    pipeline = Pipeline(commands)
    try:
        try:
            result = upload_stream(client, bucket, key, pipeline.stdout, part_size, metadata, local_copy)
        except BaseException:
            pipeline.kill()
            pipeline.wait()
            raise
        failures = pipeline.wait()
        if failures:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=result["upload_id"])
            raise BackupError("; ".join(failures))
        client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=result["upload_id"],
            MultipartUpload={"Parts": sorted(result["parts"], key=lambda p: p["PartNumber"])},
        )
    except BaseException:
        if local_copy:
            local_copy.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(local_path + ".partial")
        raise
    manifest = {
        "key": key,
        "job": job["name"],
        "kind": job["kind"],
        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sha256": result["sha256"],
        "size": result["size"],
        "compression": compression,
        "encryption": encryption.get("method", "none"),
        "host": socket.getfqdn(),
        "tool_version": VERSION,
    }
    client.put_object(
        Bucket=bucket,
        Key=key + MANIFEST_SUFFIX,
        Body=json.dumps(manifest, indent=2).encode(),
        ContentType="application/json",
    )
    if local_copy:
        local_copy.close()
        os.replace(local_path + ".partial", local_path)
        os.chmod(local_path, 0o600)
    return manifest


def pick_backup(client, config: dict, job: str, key: str | None) -> Backup:
    backups = list_backups(client, config, job)
    if key:
        for backup in backups:
            if key in (backup.key, os.path.basename(backup.key)):
                if not backup.complete:
                    raise BackupError(f"{backup.key} has no manifest: the backup is incomplete")
                return backup
        raise BackupError(f"job {job} has no backup {key!r}")
    complete = [b for b in backups if b.complete]
    if not complete:
        raise BackupError(f"job {job} has no complete backup to restore")
    return complete[-1]


def scratch_name(job: dict, given: str | None) -> str:
    name = given or job.get("scratch_database") or f"{job.get('database', job['name'])}_restore_test"
    if not re.fullmatch(r"[A-Za-z0-9_]{1,63}", name):
        raise ConfigError(f"scratch database name {name!r}: letters, digits and _ only")
    return name


def _sql(job: dict, database: str, sql: str) -> str:
    """Run SQL as the job's user; the output (unaligned, no headers)."""
    if job["kind"] == "postgres":
        conn, env = _pg_connection(job, database)
        command = _wrap(job, ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "--no-password", *conn], env, True)
    else:
        conn, env = _my_connection(job)
        client = job.get("client_command") or _mysql_program(job, "mysql", "mariadb")
        command = _wrap(
            job, [client, *conn, "--batch", "--skip-column-names", *([database] if database else [])], env, True
        )
    proc = subprocess.run(
        command.argv, input=sql.encode(), capture_output=True, env={**os.environ, **command.env}, check=False
    )
    if proc.returncode != 0:
        raise BackupError(f"{command.argv[0]}: {proc.stderr.decode(errors='replace').strip()[-2000:]}")
    return proc.stdout.decode()


def restore_command(job: dict, target: str, database: str | None, directory: str | None) -> Command:
    kind = job["kind"]
    if kind == "postgres":
        conn, env = _pg_connection(job, database)
        argv = ["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--no-password"]
        if target == "live":
            argv += ["--clean", "--if-exists"]
        return _wrap(job, [*argv, *conn], env, True)
    if kind == "mysql":
        conn, env = _my_connection(job)
        client = job.get("client_command") or _mysql_program(job, "mysql", "mariadb")
        return _wrap(job, [client, *conn, database], env, True)
    if kind == "volume" and target == "live" and job.get("method", "direct") == "docker":
        image = job.get("image") or "debian:stable-slim"
        return Command(
            ["docker", "run", "--rm", "-i", "-v", f"{job['volume']}:/data", image, "tar", "-C", "/data", "-xpf", "-"]
        )
    return Command(["tar", "-C", directory, "-xpf", "-"])


def stream_restore(client, config: dict, job: dict, backup: Backup, final: Command) -> None:
    """Download -> decrypt -> decompress -> final command; the checksum is checked before EOF.

    The last bytes reach the restoring command only after the sha256 of the whole object has
    matched the manifest: on a mismatch every process is killed before it sees end-of-input,
    so pg_restore --single-transaction (and a half-fed mysql or tar) never commits a corrupt
    backup.
    """
    manifest = backup.manifest or {}
    commands = []
    decrypt = decrypt_command(manifest.get("encryption", "none"), config.get("encryption") or {})
    if decrypt:
        commands.append(Command(decrypt))
    decompress = COMPRESSORS[manifest.get("compression", "none")][2]
    if decompress:
        commands.append(Command(decompress))
    commands.append(final)
    pipeline = Pipeline(commands, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    body = client.get_object(Bucket=config["s3"]["bucket"], Key=backup.key)["Body"]
    digest, held = hashlib.sha256(), b""
    problem = None
    try:
        for chunk in body.iter_chunks(chunk_size=MIB):
            digest.update(chunk)
            if held:
                pipeline.stdin.write(held)
            held = chunk
        if digest.hexdigest() != manifest.get("sha256"):
            problem = f"checksum mismatch for {backup.key}: stored {manifest.get('sha256')}, read {digest.hexdigest()}"
        else:
            pipeline.stdin.write(held)
    except BrokenPipeError:
        pass  # a process stopped reading: its exit status says why
    except BaseException:
        pipeline.kill()
        pipeline.wait()
        raise
    if problem:
        pipeline.kill()
        pipeline.wait()
        raise BackupError(problem)
    with contextlib.suppress(BrokenPipeError):
        pipeline.stdin.close()
    failures = pipeline.wait()
    if failures:
        raise BackupError("; ".join(failures))


def restore(
    config: dict,
    job: dict,
    key: str | None,
    target: str,
    confirm_live: bool,
    scratch: str | None,
    directory: str | None,
    keep_scratch: bool = True,
) -> dict:
    client = s3_client(config)
    backup = pick_backup(client, config, job["name"], key)
    kind = job["kind"]
    if target == "live" and not confirm_live:
        raise ConfigError(f"restoring {backup.key} over the live data of {job['name']} needs --confirm-live")
    result = {"job": job["name"], "backup": backup.key, "target": target}
    if kind in ("postgres", "mysql"):
        database = job["database"] if target == "live" else scratch_name(job, scratch)
        if target != "live":
            if database == job["database"]:
                raise ConfigError("the scratch database must not be the live one")
            _recreate_database(job, database)
        stream_restore(client, config, job, backup, restore_command(job, target, database, None))
        result["database"] = database
        result["sanity"] = sanity_check(job, database)
        if target != "live" and not keep_scratch:
            _drop_database(job, database)
        return result
    if target == "live":
        directory = "/" if kind == "path" else _volume_dir(job)
    else:
        directory = directory or os.path.join(
            config.get("scratch_dir") or os.path.join(state_dir(config), "restore"), job["name"]
        )
        if os.path.isdir(directory):
            shutil.rmtree(directory)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    stream_restore(client, config, job, backup, restore_command(job, target, None, directory))
    entries = sum(len(files) + len(dirs) for _root, dirs, files in os.walk(directory)) if target != "live" else None
    result.update(directory=directory, sanity=entries)
    if target != "live" and not keep_scratch:
        shutil.rmtree(directory)
    return result


def _maintenance_db(job: dict) -> str:
    return job.get("maintenance_database") or ("postgres" if job["kind"] == "postgres" else "")


def _recreate_database(job: dict, database: str) -> None:
    if job["kind"] == "postgres":
        _sql(job, _maintenance_db(job), f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE);\n')
        _sql(job, _maintenance_db(job), f'CREATE DATABASE "{database}";\n')
    else:
        _sql(job, "", f"DROP DATABASE IF EXISTS `{database}`; CREATE DATABASE `{database}`;\n")


def _drop_database(job: dict, database: str) -> None:
    if job["kind"] == "postgres":
        _sql(job, _maintenance_db(job), f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE);\n')
    else:
        _sql(job, "", f"DROP DATABASE IF EXISTS `{database}`;\n")


DEFAULT_SANITY = {
    "postgres": "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema');",
    "mysql": "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE();",
}


def sanity_check(job: dict, database: str) -> int:
    """The job's sanity query (first column of the first row, an integer) must reach its minimum."""
    query = job.get("sanity_query") or DEFAULT_SANITY[job["kind"]]
    output = _sql(job, database, query.rstrip(";") + ";\n").strip().splitlines()
    try:
        value = int(output[0].split("\t")[0])
    except (IndexError, ValueError) as exc:
        raise BackupError(f"the sanity query returned {output[:3]!r}, not a number") from exc
    minimum = int(job.get("sanity_min", 1))
    if value < minimum:
        raise BackupError(f"the sanity query returned {value}, expected at least {minimum}")
    return value


def notify_failure(config: dict, unit: str) -> int:
    """OnFailure=: report a failed unit unless the tool already reported this very invocation."""
    unit = unit if unit.endswith(".service") else unit + ".service"
    match = re.fullmatch(r"seaworthy-(backup|restore-test)@(.+)\.service", unit)
    job, action = (
        (match.group(2), "run" if match.group(1) == "backup" else "verify-restore") if match else (unit, "run")
    )
    suffix = "" if action == "run" else f".{action}"
    proc = subprocess.run(
        ["systemctl", "show", "--property=InvocationID", "--value", unit], capture_output=True, check=False
    )
    invocation = proc.stdout.decode().strip()
    marker = os.path.join(state_dir(config), f"{job}{suffix}.reported")
    with contextlib.suppress(OSError), open(marker, encoding="utf-8") as handle:
        if invocation and handle.read().strip() == invocation:
            return 0
    notify(
        config,
        job,
        action,
        False,
        f"{unit} failed (killed, timed out or crashed before reporting); see journalctl -u {unit}",
    )
    return 0


def setup_bucket(config: dict, create: bool, lifecycle_days: int, check: bool) -> dict:
    """Make sure the bucket is reachable (created when asked) and its expiry rule is as asked.

    The rule covers the backups under this host's prefix only; 0 removes it. Returns
    {"changed": ...} for Ansible; in check mode nothing is written.
    """
    from botocore.exceptions import ClientError

    client = s3_client(config)
    bucket = config["s3"]["bucket"]
    changed = []
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code not in ("404", "NoSuchBucket") or not create:
            raise BackupError(f"bucket {bucket}: {code or exc}") from exc
        if not check:
            client.create_bucket(Bucket=bucket)
        changed.append("bucket created")
        if check:
            return {"changed": True, "changes": changed}
    rule_id = "seaworthy-backup-" + (config["s3"].get("prefix") or "all").strip("/").replace("/", "-")
    try:
        rules = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    others = [r for r in rules if r.get("ID") != rule_id]
    current = next((r for r in rules if r.get("ID") == rule_id), None)
    wanted = None
    if lifecycle_days > 0:
        prefix = job_prefix(config, "").rstrip("/")
        wanted = {
            "ID": rule_id,
            "Filter": {"Prefix": prefix + "/" if prefix else ""},
            "Status": "Enabled",
            "Expiration": {"Days": lifecycle_days},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    same = (current is None and wanted is None) or (
        current is not None
        and wanted is not None
        and current.get("Expiration", {}).get("Days") == lifecycle_days
        and current.get("Filter", {}).get("Prefix", current.get("Prefix")) == wanted["Filter"]["Prefix"]
    )
    if not same:
        what = f"expire after {lifecycle_days} days" if wanted else "removed"
        changed.append(f"lifecycle rule {rule_id}: {what}")
        if not check:
            new_rules = others + ([wanted] if wanted else [])
            if new_rules:
                client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": new_rules})
            else:
                client.delete_bucket_lifecycle(Bucket=bucket)
    return {"changed": bool(changed), "changes": changed}


# --- command line --------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="seaworthy-backup", description=__doc__.split("\n", maxsplit=1)[0])
    main.add_argument("--config", default=os.environ.get("SEAWORTHY_BACKUP_CONFIG", DEFAULT_CONFIG))
    main.add_argument("--version", action="version", version=VERSION)
    commands = main.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="back up one job now")
    run.add_argument("job")
    run.add_argument("--no-prune", action="store_true", help="skip retention after the backup")
    run.add_argument("--now", help="the time to stamp the backup with (ISO 8601; tests)")
    listing = commands.add_parser("list", help="list backups")
    listing.add_argument("job", nargs="?")
    listing.add_argument("--json", action="store_true")
    prune = commands.add_parser("prune", help="apply retention")
    prune.add_argument("job", nargs="?")
    prune.add_argument("--dry-run", action="store_true")
    prune.add_argument("--now", help="the time retention is computed at (ISO 8601)")
    rest = commands.add_parser("restore", help="restore a backup (the latest by default)")
    rest.add_argument("job")
    rest.add_argument("--backup", help="object key or file name (default: the latest complete backup)")
    rest.add_argument("--target", choices=["scratch", "live"], default="scratch")
    rest.add_argument("--confirm-live", action="store_true", help="required to overwrite the live data")
    rest.add_argument("--scratch-database", help="database to restore into (target scratch)")
    rest.add_argument("--directory", help="directory to extract into (target scratch, volume/path jobs)")
    rest.add_argument("--json", action="store_true")
    verify = commands.add_parser("verify-restore", help="restore the latest into scratch and check it")
    verify.add_argument("job")
    verify.add_argument("--keep", action="store_true", help="keep the scratch database/directory")
    setup = commands.add_parser("setup", help="check the bucket; create it, set its lifecycle rule")
    setup.add_argument("--create-bucket", action="store_true")
    setup.add_argument("--lifecycle-days", type=int, default=0, help="expire objects after N days (0: no rule)")
    setup.add_argument("--check", action="store_true", help="report what would change, change nothing")
    note = commands.add_parser("notify-failure", help="report a failed unit (OnFailure=)")
    note.add_argument("unit")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"seaworthy-backup: {exc}", file=sys.stderr)
        return 2
    action = args.command
    job_name = getattr(args, "job", None)
    try:
        if action == "notify-failure":
            return notify_failure(config, args.unit)
        if action == "setup":
            print(json.dumps(setup_bucket(config, args.create_bucket, args.lifecycle_days, args.check)))
            return 0
        if action == "list":
            client = s3_client(config)
            rows = []
            for name in [job_name] if job_name else sorted(config.get("jobs") or {}):
                for backup in list_backups(client, config, name):
                    rows.append(
                        {
                            "job": name,
                            "key": backup.key,
                            "created": backup.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "size": backup.size,
                            "complete": backup.complete,
                            "sha256": (backup.manifest or {}).get("sha256"),
                        }
                    )
            if args.json:
                print(json.dumps(rows, indent=2))
            else:
                for row in rows:
                    state = "" if row["complete"] else "  INCOMPLETE"
                    print(f"{row['created']}  {row['size']:>14}  {row['key']}{state}")
            return 0
        if action == "prune":
            client = s3_client(config)
            now = now_utc(args.now)
            for name in [job_name] if job_name else sorted(config.get("jobs") or {}):
                deleted = prune_job(client, config, job_config(config, name), now, args.dry_run)
                verb = "would delete" if args.dry_run else "deleted"
                print(json.dumps({"job": name, verb.replace(" ", "_"): deleted}))
            return 0
        job = job_config(config, job_name)
        if action == "run":
            now = now_utc(args.now)
            manifest = run_backup(config, job, now)
            deleted = [] if args.no_prune else prune_job(s3_client(config), config, job, now)
            print(json.dumps({**manifest, "pruned": deleted}))
            reported(config, job_name, "run", True, f"{manifest['key']} ({manifest['size']} bytes)")
            return 0
        if action == "restore":
            result = restore(
                config, job, args.backup, args.target, args.confirm_live, args.scratch_database, args.directory
            )
            print(
                json.dumps(result)
                if args.json
                else f"restored {result['backup']} into {result.get('database') or result.get('directory')}"
            )
            return 0
        if action == "verify-restore":
            result = restore(config, job, None, "scratch", False, None, None, keep_scratch=args.keep)
            print(json.dumps(result))
            reported(config, job_name, "verify-restore", True, f"{result['backup']}: sanity {result['sanity']}")
            return 0
    except ConfigError as exc:
        print(f"seaworthy-backup: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        message = str(exc) or type(exc).__name__
        print(f"seaworthy-backup: {action} {job_name or ''} failed: {message}", file=sys.stderr)
        if action in ("run", "verify-restore") and job_name:
            reported(config, job_name, action, False, message)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
