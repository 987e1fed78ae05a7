"""Run playbooks/site.yml on an inventory against the emulator with real backing, and
measure it: wall time, API calls (the emulator's request log) and SSH tasks (task results
of hosts other than localhost). Shared by tests/e2e and tests/benchmarks/site_bench.py."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.tools import tool

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "tests" / "images" / "stack-test"


def cached_image(recipe: Path, name: str, cache: str) -> tuple[str, Path]:
    """An image built FROM the local droplet image, cached as an archive under .cache/<cache>/ keyed by
    a hash of the droplet image and the recipe (rebuilt only when either changes)."""
    script = (
        "set -euo pipefail; { docker image inspect -f '{{.Id}}' seaworthy/droplet:debian-13; "
        f"cd '{recipe}' && find . -type f | sort | xargs sha256sum; }} | sha256sum | cut -c1-12"
    )
    digest = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    image = f"{name}:{digest}"
    archive = REPO / ".cache" / cache / f"{name.replace('/', '_')}_{digest}.tar"
    if not archive.exists() or archive.stat().st_size == 0:
        archive.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["docker", "build", "-q", "-t", image, str(recipe)], check=True, capture_output=True)
        subprocess.run(["docker", "save", "-o", f"{archive}.tmp", image], check=True)
        os.replace(f"{archive}.tmp", archive)
    return image, archive


def demo_image() -> tuple[str, Path]:
    """The demo application image (the stack role's test app), built once and cached as an archive."""
    return cached_image(RECIPE, "seaworthy/stack-test", "stack")


@contextmanager
def emulator_for(data_dir: Path, image_map: str = "") -> Iterator:
    """An emulator with real backing (its own networks, Spaces, DNS, Pebble), stopped at the end;
    image_map boots the seed's image slugs (ubuntu-...) on the local droplet image."""
    from tests.emulator.config import EmulatorConfig
    from tests.emulator.server import Emulator

    config = EmulatorConfig.from_env(
        port=0, backing="docker", rate_per_minute=None, rate_per_hour=None, data_dir=data_dir, image_map=image_map
    )
    emulator = Emulator(config).start()
    try:
        yield emulator
    finally:
        emulator.stop()


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
    logs = REPO / ".cache" / "e2e" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    label = "check" if "--check" in args else time.strftime("%H%M%S")
    (logs / f"{inventory}-{label}.log").write_text(proc.stdout + "\n---- stderr ----\n" + proc.stderr)
    api_calls = len(emulator.requests(mark))
    try:
        output = json.loads(proc.stdout[proc.stdout.index("{") :]) if "{" in proc.stdout else {}
    except ValueError:
        output = {}
    return SiteRun(proc.returncode, seconds, api_calls, output, proc.stderr[-4000:], proc.stdout[-4000:])
