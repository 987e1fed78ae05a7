"""Zero-downtime benchmark of the stack role (issue 10): requests failed while a release ships.

    .venv/bin/python -m tests.benchmarks.zero_downtime_bench [--requests N] [--seconds S] [--keep]

Against the `stack` molecule scenario's droplet: when `molecule-stack-app-1` is not running,
the scenario is brought up first (`molecule create/prepare/converge -s stack`: a local droplet
container with Docker inside and release 1 live) and destroyed at the end unless --keep.

1. Seaworthy: a load generator inside the droplet sends GET requests to stack_upstream
   (127.0.0.1:8080, loopback only) one connection each, continuously, while deploy.yml
   (the scenario's converge) ships the next release. Prints sent, failed, the switch time
   (from the deploy's start to the first answer of the new release, and the gap between the
   last answer of the old release and the first of the new) and the deploy's duration.
2. Plain compose for comparison: the same load against the same change (image of release N
   to N+1) made with `docker compose up -d` on a one-service compose project on 127.0.0.1:8090.

Bounded: at most --requests requests and --seconds seconds per run; traffic only to loopback
inside the droplet. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
SCENARIO = "stack"
DROPLET = f"molecule-{SCENARIO}-app-1"
STOP_FILE = "/tmp/seaworthy-loadgen.stop"


# --- The load generator (runs inside the droplet: standard library only) ---------------
def loadgen(url: str, max_requests: int, max_seconds: float, stop_file: str, interval: float = 0.0) -> dict:
    """GET url continuously, a new connection each time, until stop_file exists or a bound is hit.

    interval paces the requests (at most one per interval seconds), so that a bounded count
    lasts as long as the change it watches instead of running out before it.
    """
    import http.client
    import os as _os
    import time as _time
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    started = _time.monotonic()
    sent = failed = 0
    errors: dict[str, int] = {}
    versions: dict[str, dict] = {}
    last_ok = started
    longest_gap = 0.0
    now = started
    while sent < max_requests and _time.monotonic() - started < max_seconds and not _os.path.exists(stop_file):
        if interval and sent:
            _time.sleep(max(0.0, interval - (_time.monotonic() - now)))
        sent += 1
        now = _time.monotonic()
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
            conn.request("GET", parts.path or "/", headers={"Connection": "close"})
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
            version = response.getheader("X-App-Version") or json.loads(body).get("version", "?")
        except Exception as error:
            failed += 1
            kind = f"{type(error).__name__}: {error}"[:80]
            errors[kind] = errors.get(kind, 0) + 1
            continue
        done = _time.monotonic()
        longest_gap = max(longest_gap, done - last_ok)
        last_ok = done
        seen = versions.setdefault(version, {"first": now - started, "last": 0.0, "count": 0})
        seen["last"] = done - started
        seen["count"] += 1
    return {
        "sent": sent,
        "failed": failed,
        "errors": errors,
        "versions": versions,
        "seconds": round(_time.monotonic() - started, 2),
        "longest_gap_ms": round(longest_gap * 1000, 1),
    }


def _loadgen_script(url: str, max_requests: int, max_seconds: float, interval: float = 0.0) -> str:
    import inspect

    return "\n".join(
        [
            "import json",
            inspect.getsource(loadgen),
            f"print(json.dumps(loadgen({url!r}, {max_requests}, {max_seconds}, {STOP_FILE!r}, {interval})))",
        ]
    )


class Load:
    """The load generator running in the droplet while something happens."""

    def __init__(
        self, container: str, url: str, max_requests: int = 20000, max_seconds: float = 180, interval: float = 0.0
    ):
        self.container = container
        subprocess.run(["docker", "exec", container, "rm", "-f", STOP_FILE], check=True)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            ["docker", "exec", "-i", container, "python3", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.process.stdin.write(_loadgen_script(url, max_requests, max_seconds, interval))
        self.process.stdin.close()

    def stop(self) -> dict:
        subprocess.run(["docker", "exec", self.container, "touch", STOP_FILE], check=True)
        out = self.process.stdout.read()
        self.process.wait(timeout=60)
        return json.loads(out)


# --- Running the scenario's playbooks ---------------------------------------------------
def molecule(*args: str) -> subprocess.CompletedProcess:
    # Molecule wraps the playbook output at the terminal width; a wide one keeps each
    # message on one line, so callers can search it.
    env = {**os.environ, "PATH": f"{PROJECT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}", "COLUMNS": "10000"}
    return subprocess.run(["molecule", *args], cwd=PROJECT, env=env, capture_output=True, text=True, check=False)


def deploy(**extra_vars) -> tuple[subprocess.CompletedProcess, float]:
    """The scenario's converge (playbooks/deploy.yml) with extra vars; returns it and its duration."""
    argv = ["converge", "-s", SCENARIO, "--"]
    for key, value in extra_vars.items():
        argv += ["-e", f"{key}={value}"]
    started = time.monotonic()
    result = molecule(*argv)
    return result, time.monotonic() - started


def running(container: str) -> bool:
    result = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Running}}", container], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() == "true"


def live_version(container: str) -> str:
    out = subprocess.run(
        ["docker", "exec", container, "cat", "/opt/shop/live.json"], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)["version"]


# --- The two runs -------------------------------------------------------------------------
def report(title: str, load: dict, started_at: float, deploy_seconds: float | None, old: str, new: str) -> None:
    versions = load["versions"]
    print(f"\n== {title}")
    print(f"requests sent: {load['sent']}  failed: {load['failed']}  (over {load['seconds']} s)")
    for kind, count in load["errors"].items():
        print(f"  {count} x {kind}")
    if old in versions and new in versions:
        first_new = versions[new]["first"]
        print(
            f"switch: first answer of {new} {first_new - started_at:.2f} s after the change started; "
            f"last answer of {old} at {versions[old]['last'] - started_at:.2f} s; "
            f"gap between them {max(0.0, first_new - versions[old]['last']) * 1000:.0f} ms"
        )
    else:
        # The load hit a bound before the change landed: the switch was not measured.
        print(
            f"NOT MEASURED: no answer of release {new} before the load stopped "
            f"(it ended after {load['sent']} requests / {load['seconds']} s); raise --requests or --seconds"
        )
    print(f"longest time without a successful answer: {load['longest_gap_ms']} ms")
    print("answers per version: " + ", ".join(f"{v}={d['count']}" for v, d in versions.items()))
    if deploy_seconds is not None:
        print(
            f"the change ({'deploy.yml' if title.startswith('Seaworthy') else 'docker compose up -d'}) took {deploy_seconds:.1f} s"
        )


def seaworthy_run(container: str, requests: int, seconds: float) -> str:
    old = live_version(container)
    new = str(int(old) + 1) if old.isdigit() else "2"
    load = Load(container, "http://127.0.0.1:8080/", requests, seconds)
    time.sleep(2)
    change_at = time.monotonic() - load.started
    result, took = deploy(stack_version=new)
    time.sleep(2)
    numbers = load.stop()
    if result.returncode != 0:
        print(result.stdout[-3000:], file=sys.stderr)
    report(f"Seaworthy deploy.yml, release {old} -> {new}", numbers, change_at, took, old, new)
    return new


PLAIN_COMPOSE = """services:
  web:
    image: shop-web:{version}
    ports: ["127.0.0.1:8090:8000"]
    environment: {{DATABASE_URL: "postgresql://nobody@127.0.0.1/none"}}
    restart: unless-stopped
"""


def plain_compose_run(container: str, old: str, new: str, requests: int, seconds: float) -> None:
    def compose(version: str, *args: str) -> None:
        subprocess.run(
            [
                "docker",
                "exec",
                "-i",
                container,
                "sh",
                "-c",
                "mkdir -p /root/bench-plain && cat >/root/bench-plain/compose.yml",
            ],
            input=PLAIN_COMPOSE.format(version=version),
            text=True,
            check=True,
        )
        subprocess.run(
            [
                "docker",
                "exec",
                container,
                "docker",
                "compose",
                "-p",
                "bench-plain",
                "-f",
                "/root/bench-plain/compose.yml",
                *args,
            ],
            capture_output=True,
            check=True,
        )

    compose(old, "up", "-d", "--wait")
    time.sleep(1)
    load = Load(container, "http://127.0.0.1:8090/", requests, seconds)
    time.sleep(2)
    change_at = time.monotonic() - load.started
    started = time.monotonic()
    compose(new, "up", "-d")
    took = time.monotonic() - started
    time.sleep(4)
    numbers = load.stop()
    compose(new, "down", "--timeout", "5")
    report(f"plain `docker compose up -d`, image {old} -> {new}", numbers, change_at, took, old, new)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # About 400 requests a second on 2 cores: 150,000 outlasts a deploy (about 110 s under load);
    # --seconds is the bound that normally ends a run.
    parser.add_argument("--requests", type=int, default=150000, help="at most this many requests per run")
    parser.add_argument("--seconds", type=float, default=300, help="at most this long per run")
    parser.add_argument("--keep", action="store_true", help="keep a scenario this script brought up")
    args = parser.parse_args()

    brought_up = False
    if not running(DROPLET):
        print("bringing up the stack scenario (molecule create/prepare/converge -s stack)...", flush=True)
        for step in ("create", "prepare", "converge"):
            result = molecule(step, "-s", SCENARIO)
            if result.returncode != 0:
                print(result.stdout[-3000:], result.stderr[-2000:], file=sys.stderr)
                return 1
        brought_up = True
    try:
        old = live_version(DROPLET)
        new = seaworthy_run(DROPLET, args.requests, args.seconds)
        plain_compose_run(DROPLET, old, new, args.requests, args.seconds)
    finally:
        if brought_up and not args.keep:
            molecule("destroy", "-s", SCENARIO)
    return 0


if __name__ == "__main__":
    sys.exit(main())
