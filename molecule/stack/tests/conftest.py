"""Fixtures of the stack scenario: the droplet, HTTP inside it, playbook runs, the load generator."""

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
CONTAINER = f"molecule-{SCENARIO}-app-1"
UPSTREAM = "http://127.0.0.1:8080"


class Droplet:
    def __init__(self):
        self.host = testinfra.get_host(f"docker://{CONTAINER}")
        self.container = CONTAINER

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
        # At most 100 requests a second, for as long as the deploy takes (bounded at 15 min).
        return Load(self.container, UPSTREAM + "/", max_requests=90000, max_seconds=900, interval=0.01)


@pytest.fixture(scope="session")
def droplet() -> Droplet:
    return Droplet()


def playbook(path: str | Path, **extra_vars) -> subprocess.CompletedProcess:
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(path)]
    if extra_vars:
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
