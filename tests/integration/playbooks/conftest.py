"""Fixtures for playbook tests: the collection's playbooks on an inventory made in tmp_path."""

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


@dataclass
class Run:
    rc: int
    output: dict
    stderr: str

    @property
    def stats(self) -> dict:
        return self.output.get("stats", {})

    @property
    def changed(self) -> int:
        return sum(host.get("changed", 0) for host in self.stats.values())

    def changed_tasks(self) -> list[str]:
        found = []
        for play in self.output.get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    if result.get("changed"):
                        found.append(f"{host}: {task['task']['name']}")
        return found

    def failures(self) -> list[str]:
        found = []
        for play in self.output.get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    if result.get("failed") or result.get("unreachable"):
                        found.append(f"{host}: {task['task']['name']}: {result.get('msg', '')}")
        return found


def run_playbook(playbook: str, inventory: Path, env: dict, *args: str, timeout: int = 1800) -> Run:
    """Run playbooks/<playbook> on `inventory` with the json callback; never raises on failure."""
    cmd = [tool("ansible-playbook"), "-i", str(inventory), str(REPO / "playbooks" / playbook), *args]
    run_env = {
        **os.environ,
        **env,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_LOCALHOST_WARNING": "false",
    }
    proc = subprocess.run(cmd, cwd=REPO, env=run_env, capture_output=True, text=True, timeout=timeout, check=False)
    try:
        output = json.loads(proc.stdout[proc.stdout.index("{") :]) if "{" in proc.stdout else {}
    except ValueError:
        output = {"unparsed": proc.stdout}
    return Run(proc.returncode, output, proc.stderr + proc.stdout[-3000:] if not output else proc.stderr)


def write_inventory(path: Path, stack: dict) -> Path:
    """An inventory directory: localhost plus group_vars/all/stack.yml holding `stack`."""
    (path / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    hosts = {"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}}
    (path / "hosts.yml").write_text(yaml.safe_dump(hosts))
    (path / "group_vars" / "all" / "stack.yml").write_text(yaml.safe_dump(stack, sort_keys=False))
    return path


@pytest.fixture
def playbook(emulator):
    def run(name, inventory, *args, **kwargs):
        env = {**emulator.client_env(), "ANSIBLE_PYTHON_INTERPRETER": tool("python")}
        return run_playbook(name, inventory, env, *args, **kwargs)

    return run
