"""The backup role's streaming tool versus the seeds' `pg_dump > file && upload file`.

    .venv/bin/python tests/benchmarks/backup_bench.py [--size-mb 2000] [--keep]

Starts a PostgreSQL 17 container (the local seaworthy/dbaas-postgres image), fills a
database of about --size-mb (table data as PostgreSQL stores it), and backs it up to a
moto S3 server (a separate process with its own temporary directory) two ways, in the
same run, one after the other:

  streaming  seaworthy-backup run: docker exec pg_dump -Fc | zstd | multipart upload
  file       docker exec pg_dump -Fc > dump file, then boto3 upload_file (multipart)

For each it prints wall time, peak resident memory of the whole process tree (sampled
every 50 ms from /proc) and peak extra disk (bytes under the method's own working and
temporary directory, sampled likewise), and the size stored. Target (issue 11): extra disk
near zero for streaming, wall time no worse than the file method.
Prints numbers; asserts nothing (benchmarks are read, not gated).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "roles" / "backup" / "files" / "seaworthy_backup.py"
IMAGE = "seaworthy/dbaas-postgres:debian-13"
MAKE_CERT = (
    "mkdir -p /etc/seaworthy-db && cd /etc/seaworthy-db && "
    "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench -keyout server.key -out server.crt "
    "2>/dev/null && cp server.crt ca.pem && exec /usr/local/sbin/db-entrypoint"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def docker(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], check=True, capture_output=True, **kwargs)


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def dir_bytes(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # removed while walking
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def measure(argv: list[str], workdir: Path, env: dict) -> dict:
    """Run argv; wall time, peak tree RSS, peak bytes under workdir."""
    peak = {"rss": 0, "disk": 0}
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak["rss"] = max(peak["rss"], tree_rss(proc.pid))
            peak["disk"] = max(peak["disk"], dir_bytes(workdir))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {"wall_s": wall, "peak_rss_mb": peak["rss"] / 2**20, "peak_disk_mb": peak["disk"] / 2**20, "out": out}


FILE_METHOD = """
import os, subprocess, sys, boto3
from boto3.s3.transfer import TransferConfig
container, endpoint, bucket = sys.argv[1:4]
path = os.path.join(os.getcwd(), "bench.dump")
with open(path, "wb") as out:
    subprocess.run(["docker", "exec", "-u", "postgres", container, "pg_dump", "-Fc", "-d", "bench"], stdout=out, check=True)
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
s3.upload_file(path, bucket, "file/bench.dump", Config=TransferConfig(multipart_chunksize=16 * 2**20))
print(os.path.getsize(path))
os.unlink(path)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=200, help="approximate table size to generate (default 200)")
    parser.add_argument("--keep", action="store_true", help="leave the database container running")
    args = parser.parse_args()

    import boto3

    name = f"seaworthy-bench-backup-{os.getpid()}"
    base = Path(tempfile.mkdtemp(prefix="backup-bench-"))
    moto_tmp, stream_dir, file_dir = base / "moto", base / "streaming", base / "file"
    for directory in (moto_tmp, stream_dir, file_dir):
        directory.mkdir()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto_server = shutil.which("moto_server", path=os.path.dirname(sys.executable)) or "moto_server"
    moto = subprocess.Popen(
        [moto_server, "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "TMPDIR": str(moto_tmp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        docker("run", "-d", "--name", name, "--init", "--label", "io.seaworthy.owner=benchmark",
               "--entrypoint", "/bin/bash", IMAGE, "-c", MAKE_CERT)  # fmt: skip
        for _ in range(120):
            if subprocess.run(["docker", "exec", name, "pg_isready", "-q"], check=False).returncode == 0:
                break
            time.sleep(0.5)
        rows = args.size_mb * 2**20 // 160  # ~160 bytes a row on disk (tuple header, two md5s, text)
        print(f"generating about {args.size_mb} MB ({rows} rows)...", flush=True)
        started = time.perf_counter()
        sql = (
            "CREATE DATABASE bench;\n\\c bench\n"  # noqa: S608 (rows is an int)
            "CREATE TABLE events (id bigint, kind text, payload text, at timestamptz);\n"
            "INSERT INTO events SELECT g, 'kind-' || (g % 50), md5(g::text) || md5((g * 7)::text) || ' event '"
            f" || g, now() - g * interval '1 second' FROM generate_series(1, {rows}) g;\n"
            "SELECT pg_size_pretty(pg_database_size('bench'));\n"
        )
        size = docker("exec", "-i", "-u", "postgres", name, "psql", "-X", "-q", "-At", input=sql.encode())
        print(f"database size {size.stdout.decode().strip()} in {time.perf_counter() - started:.0f} s", flush=True)

        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")  # fmt: skip
        s3.create_bucket(Bucket="bench")
        config = {
            "s3": {"endpoint": endpoint, "bucket": "bench", "access_key": "bench", "secret_key": "bench",
                   "prefix": "streaming", "part_size_mb": 16},
            "compression": "zstd",
            "compression_level": 3,
            "state_dir": str(stream_dir / "state"),
            "retention": {"days": 0},
            "jobs": {"bench": {"kind": "postgres", "container": name, "container_user": "postgres",
                               "user": "postgres", "database": "bench"}},
        }  # fmt: skip
        config_path = base / "config.json"
        config_path.write_text(json.dumps(config))
        env = {**os.environ, "TMPDIR": str(stream_dir)}
        results = {}
        results["streaming"] = measure(
            [sys.executable, str(TOOL), "--config", str(config_path), "run", "bench", "--no-prune"], stream_dir, env
        )
        results["streaming"]["stored_mb"] = json.loads(results["streaming"]["out"])["size"] / 2**20
        env = {**os.environ, "TMPDIR": str(file_dir)}
        results["file"] = measure([sys.executable, "-c", FILE_METHOD, name, endpoint, "bench"], file_dir, env)
        results["file"]["stored_mb"] = int(results["file"]["out"]) / 2**20

        print(f"\n{'method':<34}{'wall s':>9}{'peak RSS MB':>13}{'peak extra disk MB':>20}{'stored MB':>11}")
        labels = {"streaming": "seaworthy-backup (pg_dump|zstd|S3)", "file": "pg_dump > file && upload file"}
        for method, numbers in results.items():
            print(
                f"{labels[method]:<34}{numbers['wall_s']:>9.1f}{numbers['peak_rss_mb']:>13.1f}"
                f"{numbers['peak_disk_mb']:>20.1f}{numbers['stored_mb']:>11.1f}"
            )
        return 0
    finally:
        moto.terminate()
        moto.wait()
        if not args.keep:
            subprocess.run(["docker", "rm", "-f", "-v", name], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
