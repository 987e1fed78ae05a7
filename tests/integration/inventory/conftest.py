"""Fixtures for the inventory plugin: `ansible-inventory` against the emulator, as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support.tools import tool

REPO = Path(__file__).resolve().parents[3]
TOKEN_VARS = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DO_API_TOKEN", "DIGITALOCEAN_API_URL")


def plain(value):
    """ansible-inventory's JSON without the `__ansible_unsafe` wrappers on strings that came from the API."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass
class InventoryRun:
    rc: int
    stdout: str
    stderr: str

    @property
    def listing(self) -> dict:
        return plain(json.loads(self.stdout))

    @property
    def hostvars(self) -> dict:
        return self.listing["_meta"]["hostvars"]

    def groups(self) -> dict[str, list[str]]:
        """Group -> sorted hosts, for groups that have hosts."""
        listing = self.listing
        return {
            name: sorted(group["hosts"])
            for name, group in listing.items()
            if name != "_meta" and isinstance(group, dict) and group.get("hosts")
        }


def run_inventory(config, env: dict[str, str], tmp_path: Path, *args: str, filename="digitalocean.yml", extra_env=None):
    """`ansible-inventory -i <config file> <args>` (default --list); the config is a dict or YAML text."""
    path = tmp_path / filename
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False))
    run_env = {k: v for k, v in os.environ.items() if k not in TOKEN_VARS}
    run_env.update(env)
    run_env.update(
        {
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
            "ANSIBLE_NOCOLOR": "true",
            **(extra_env or {}),
        }
    )
    proc = subprocess.run(
        [tool("ansible-inventory"), "-i", str(path), *(args or ("--list",))],
        cwd=REPO,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return InventoryRun(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def inventory(emulator, tmp_path):
    """inventory(config, *args, **kwargs) -> InventoryRun, with the emulator as DigitalOcean."""

    def run(config, *args, **kwargs):
        return run_inventory(config, emulator.client_env(), tmp_path, *args, **kwargs)

    return run


def api_calls(emulator, mark) -> list[str]:
    """`GET /v2/droplets?per_page=200&page=1`-style lines for the API calls since `mark`."""
    return [
        f"{r['method']} {r['path']}" + (f"?{r['query']}" if r["query"] else "")
        for r in emulator.requests(mark)
        if r["path"].startswith("/v2/")
    ]
