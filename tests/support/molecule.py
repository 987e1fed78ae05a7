"""What every molecule scenario's testinfra tests share.

Each scenario's `tests/scenario.py` knows its own machines; this module holds
what they all do the same way: reach a scenario container, poll for a
condition, run a playbook of the scenario again and read its JSON report, and
try a TCP connection from inside a container. A scenario's `scenario.py` puts
the project directory on `sys.path` (molecule runs pytest from the scenario)
and imports from here.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra


def container_host(name: str):
    """The testinfra host of a platform of the running scenario (root inside its container)."""
    return testinfra.get_host(f"docker://molecule-{os.environ['MOLECULE_SCENARIO_NAME']}-{name}")


def wait_for(predicate, timeout: float = 30, interval: float = 1.0, message: str = "condition"):
    """Poll until predicate() is truthy; return its value, or fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)


def venv_tool(name: str) -> str:
    """A console script of the interpreter running the tests (the project's venv), else from PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def run_playbook(playbook: str | Path, *options: str, extra_vars: dict | None = None, timeout: int = 600):
    """Run a playbook on the scenario's inventory again; (exit code, the ansible.posix.json report)."""
    argv = [venv_tool("ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook), *options]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    run = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
        timeout=timeout,
        check=False,
    )
    return run.returncode, json.loads(run.stdout)


def failure_messages(report: dict, host: str | None = None) -> list[str]:
    """The messages of the tasks (and loop items) that failed in a JSON report, on one host or any."""
    found = []
    for play in report["plays"]:
        for task in play["tasks"]:
            for name, result in task["hosts"].items():
                if host is not None and name != host:
                    continue
                items = [result, *result.get("results", [])]
                if any(item.get("failed") for item in items):
                    found.append(" ".join(str(item.get("msg", "")) for item in items if item.get("msg")))
    return found


def tcp_probe(host, address: str, port: int, timeout: float = 3.0, source: str | None = None) -> str:
    """'open', 'refused' or 'timeout' for a TCP connection made inside a testinfra host."""
    bind = f"s.bind(({source!r}, 0))\n" if source else ""
    script = (
        "import socket\n"
        f"s=socket.socket(); s.settimeout({timeout})\n"
        f"{bind}"
        f"try:\n s.connect(({address!r},{port})); print('open')\n"
        "except ConnectionRefusedError: print('refused')\n"
        "except OSError: print('timeout')\n"
    )
    return host.run(f"python3 -c {shlex.quote(script)}").stdout.strip()
