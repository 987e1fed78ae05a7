"""Fixtures of the stack scenario: the droplets, HTTP inside them, the load balancer, playbook runs,
the load generator."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
sys.path.insert(0, str(PROJECT))

from tests.benchmarks.zero_downtime_bench import Load  # noqa: E402

SCENARIO = os.environ["MOLECULE_SCENARIO_NAME"]
UPSTREAM = "http://127.0.0.1:8080"
# Deploys and rollbacks go to app-1 alone unless a test names other hosts (the rolling one).
FIRST = "app-1"


class Droplet:
    def __init__(self, name: str = FIRST):
        self.container = f"molecule-{SCENARIO}-{name}"
        self.host = testinfra.get_host(f"docker://{self.container}")

    def run(self, command: str):
        return self.host.run(command)

    def http(self, path: str = "/", method: str = "GET", body: str | None = None) -> tuple[int, dict, dict]:
        """A request to stack_upstream from inside the droplet: status, headers (lower case), JSON body."""
        script = (
            "import json, sys, urllib.request, urllib.error\n"
            f"req = urllib.request.Request({UPSTREAM + path!r}, method={method!r}, "
            f"data={body.encode() if body is not None else None!r})\n"
            "try:\n    r = urllib.request.urlopen(req, timeout=10)\n"
            "except urllib.error.HTTPError as e:\n    r = e\n"
            "print(json.dumps([r.status, dict(r.headers), r.read().decode()]))\n"
        )
        result = self.host.run(f"python3 -c {shlex.quote(script)}")
        assert result.rc == 0, result.stderr
        status, headers, text = json.loads(result.stdout)
        try:
            payload = json.loads(text)
        except ValueError:
            payload = {"text": text}
        return status, {key.lower(): value for key, value in headers.items()}, payload

    def live(self) -> dict:
        return json.loads(self.host.file("/opt/shop/live.json").content_string)

    def releases(self) -> list[str]:
        """Kept release ids, newest first (by the age of their release.json, as the role orders them)."""
        out = self.run("ls -t /opt/shop/releases/*/release.json").stdout.split()
        return [path.split("/")[-2] for path in out]

    def previous(self) -> str:
        """The release rollback.yml returns to by default: the newest kept one that is not live."""
        live = self.live()["release"]
        return next(release for release in self.releases() if release != live)

    def load(self) -> Load:
        # At most 20 requests a second (a new connection each), for as long as the deploy takes
        # (bounded at 15 min): enough to see any gap, light on a busy 2-core CI machine.
        return Load(self.container, UPSTREAM + "/", max_requests=18000, max_seconds=900, interval=0.05)


class LoadBalancer:
    """The load balancer container (HAProxy health-checking both droplets): its stats and a load through it."""

    def __init__(self):
        self.container = f"molecule-{SCENARIO}-lb"

    def servers(self) -> dict[str, dict]:
        """The backend's servers from HAProxy's stats: {droplet: {"status": "UP", "chkdown": falls, ...}}."""
        script = (
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8404/stats;csv').read().decode())"
        )
        out = subprocess.run(  # noqa: S603 - our own argv
            ["docker", "exec", self.container, "python3", "-c", script],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        header, *rows = out.strip().splitlines()
        fields = header.lstrip("# ").split(",")
        stats = [dict(zip(fields, row.split(","), strict=False)) for row in rows]
        return {
            row["svname"]: row
            for row in stats
            if row["pxname"] == "droplets" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def load(self) -> Load:
        return Load(self.container, "http://127.0.0.1:80/", max_requests=18000, max_seconds=900, interval=0.05)


@pytest.fixture(scope="session")
def droplet() -> Droplet:
    return Droplet()


@pytest.fixture(scope="session")
def droplet2() -> Droplet:
    return Droplet("app-2")


@pytest.fixture(scope="session")
def lb() -> LoadBalancer:
    return LoadBalancer()


def playbook(path: str | Path, **extra_vars) -> subprocess.CompletedProcess:
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(path)]
    extra_vars.setdefault("stack_deploy_hosts", FIRST)
    if extra_vars["stack_deploy_hosts"] == FIRST:
        # app-1 alone, nobody loading the load balancer: no need to leave it (the rolling test does).
        extra_vars.setdefault("stack_lb_drain_seconds", 0)
    argv += ["-e", json.dumps(extra_vars)]
    # One stream: molecule's ansible.cfg sets display_failed_stderr, so a failed task's
    # message (the one the tests look for) goes to stderr.
    return subprocess.run(  # noqa: S603 - our own argv
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )


@pytest.fixture(scope="session")
def deploy():
    def run(**extra_vars) -> subprocess.CompletedProcess:
        return playbook(Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml", **extra_vars)

    return run


@pytest.fixture(scope="session")
def rollback():
    def run(**extra_vars) -> subprocess.CompletedProcess:
        return playbook(PROJECT / "playbooks" / "rollback.yml", **extra_vars)

    return run
