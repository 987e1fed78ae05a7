"""Run playbooks/site.yml on an inventory against the emulator with real backing, and
measure it: wall time, API calls (the emulator's request log) and SSH tasks (task results
of hosts other than localhost). Shared by tests/e2e and tests/benchmarks/site_bench.py."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.tools import tool

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "tests" / "images" / "stack-test"


def demo_image() -> tuple[str, Path]:
    """The demo application image (the stack role's test app), built once and cached as an archive."""
    script = (
        "set -euo pipefail; { docker image inspect -f '{{.Id}}' seaworthy/droplet:debian-13; "
        f"cd '{RECIPE}' && find . -type f | sort | xargs sha256sum; }} | sha256sum | cut -c1-12"
    )
    digest = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    image = f"seaworthy/stack-test:{digest}"
    archive = REPO / ".cache" / "stack" / f"seaworthy_stack-test_{digest}.tar"
    if not archive.exists() or archive.stat().st_size == 0:
        archive.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["docker", "build", "-q", "-t", image, str(RECIPE)], check=True, capture_output=True)
        subprocess.run(["docker", "save", "-o", f"{archive}.tmp", image], check=True)
        os.replace(f"{archive}.tmp", archive)
    return image, archive


@dataclass
class SiteRun:
    rc: int
    seconds: float
    api_calls: int
    output: dict
    stderr: str
    stdout_tail: str = ""
    stats: dict = field(default_factory=dict)

    def results(self):
        for play in self.output.get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    yield host, task["task"]["name"], result

    @property
    def changed(self) -> int:
        return sum(s.get("changed", 0) for s in self.output.get("stats", {}).values())

    @property
    def ssh_tasks(self) -> int:
        return sum(1 for host, _, result in self.results() if host != "localhost" and not result.get("skipped"))

    def changed_tasks(self) -> list[str]:
        return [f"{h}: {n}" for h, n, r in self.results() if r.get("changed")]

    def failures(self) -> list[str]:
        return [
            f"{h}: {n}: {str(r.get('msg', ''))[:600]}"
            for h, n, r in self.results()
            if (r.get("failed") and not r.get("ignore_errors")) or r.get("unreachable")
        ]


def site_env(emulator, credentials_dir: Path) -> dict[str, str]:
    image, archive = demo_image()
    return {
        **os.environ,
        **emulator.client_env(),
        "SEAWORTHY_EMULATOR_CA": str(emulator.ca_cert),
        "SEAWORTHY_CREDENTIALS_DIR": str(credentials_dir),
        "SEAWORTHY_DEMO_IMAGE": image,
        "SEAWORTHY_DEMO_ARCHIVE": str(archive),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_LOCALHOST_WARNING": "false",
    }


def run_site(emulator, env: dict[str, str], inventory: str = "local", *args: str, timeout: int = 3600) -> SiteRun:
    path = REPO / "inventories" / inventory
    vault = (
        ["--vault-password-file", str(path / ".vault-pass.example")] if (path / ".vault-pass.example").exists() else []
    )
    mark = emulator.mark()
    start = time.monotonic()
    proc = subprocess.run(
        [tool("ansible-playbook"), "-i", str(path), *vault, str(REPO / "playbooks" / "site.yml"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - start
    api_calls = len(emulator.requests(mark))
    try:
        output = json.loads(proc.stdout[proc.stdout.index("{") :]) if "{" in proc.stdout else {}
    except ValueError:
        output = {}
    return SiteRun(proc.returncode, seconds, api_calls, output, proc.stderr[-4000:], proc.stdout[-4000:])
