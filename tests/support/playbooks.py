"""Run real playbooks from tests and read their results (ansible.posix.json callback)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.tools import tool

REPO = Path(__file__).resolve().parents[2]


@dataclass
class PlaybookRun:
    rc: int
    output: dict
    stderr: str

    @property
    def tasks(self) -> list[dict]:
        """Per task: {"name": ..., "result": <localhost result>} in order."""
        found = []
        for play in self.output.get("plays", []):
            for task in play.get("tasks", []):
                for result in task.get("hosts", {}).values():
                    found.append({"name": task["task"]["name"], "result": result})
        return found

    def result(self, name: str) -> dict:
        matches = [t["result"] for t in self.tasks if t["name"] == name]
        assert matches, f"no task named {name!r}; tasks: {[t['name'] for t in self.tasks]}"
        return matches[-1]

    @property
    def stats(self) -> dict:
        return next(iter(self.output.get("stats", {}).values()), {})

    @property
    def changed(self) -> int:
        return self.stats.get("changed", 0)

    @property
    def failed(self) -> bool:
        return self.rc != 0


def run_tasks(
    tasks: list[dict],
    env: dict[str, str],
    tmp_path: Path,
    check: bool = False,
    diff: bool = False,
    extra_args: list[str] | None = None,
    module_defaults: dict | None = None,
) -> PlaybookRun:
    """Run `tasks` on localhost with the collection from the checkout; never raises on failure."""
    play = {"name": "test", "hosts": "localhost", "gather_facts": False, "tasks": tasks}
    if module_defaults:
        play["module_defaults"] = module_defaults
    playbook = tmp_path / f"play-{len(list(tmp_path.glob('play-*.yml')))}.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    cmd = [tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    cmd += extra_args or []
    run_env = {
        **os.environ,
        **env,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_PYTHON_INTERPRETER": tool("python"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
    }
    proc = subprocess.run(cmd, cwd=REPO, env=run_env, capture_output=True, text=True, timeout=900, check=False)
    try:
        output = json.loads(proc.stdout[proc.stdout.index("{") :]) if "{" in proc.stdout else {}
    except ValueError:
        output = {"unparsed": proc.stdout}
    return PlaybookRun(proc.returncode, output, proc.stderr)
