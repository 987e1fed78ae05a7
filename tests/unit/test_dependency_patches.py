"""The installed ansible-core and Mitogen carry scripts/patch-dependencies.py's fixes: run_command
does not sleep on an empty selector when the command exits between its two poll() calls, and the
workers of a Mitogen play start with the installed collections already imported."""

from __future__ import annotations

import importlib
import json
import os
import runpy
import selectors
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from ansible.module_utils import basic
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from tests.support.tools import tool

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "patch-dependencies.py"
FIXES = runpy.run_path(str(SCRIPT))["FIXES"]


class ExitsBetweenPolls(subprocess.Popen):
    """A child whose exit lands between two poll() calls: the first says 'running', later ones wait
    for the real exit status (the timing that made run_command sleep a second, made certain)."""

    polls = 0

    def poll(self):
        type(self).polls += 1
        return None if type(self).polls == 1 else self.wait()


class WatchedSelector(selectors.PollSelector):
    """Records how many files each select() call watched."""

    watched: typing.ClassVar[list[int]] = []

    def select(self, timeout=None):
        type(self).watched.append(len(self.get_map()))
        return super().select(timeout)


@pytest.fixture
def module():
    with patch_module_args({}):
        yield AnsibleModule(argument_spec={})


def test_run_command_never_waits_on_an_empty_selector(module, monkeypatch):
    ExitsBetweenPolls.polls = 0
    WatchedSelector.watched = []
    monkeypatch.setattr(basic.subprocess, "Popen", ExitsBetweenPolls)
    monkeypatch.setattr(basic.selectors, "PollSelector", WatchedSelector)

    rc, out, err = module.run_command(["sh", "-c", "echo done; echo warn >&2"])

    assert (rc, out, err) == (0, "done\n", "warn\n")
    assert ExitsBetweenPolls.polls >= 1  # the race was staged
    assert WatchedSelector.watched, "run_command no longer uses PollSelector: revisit the patch"
    assert 0 not in WatchedSelector.watched, f"select() with nothing to watch sleeps: {WatchedSelector.watched}"


PROBE_ACTION = """
import sys
from ansible.plugins.action import ActionBase

class ActionModule(ActionBase):
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        imported = sorted(name for name in sys.modules if name.count(".") == 2 and name.startswith("ansible_collections."))
        return {"changed": False, "imported": imported}
"""


def test_mitogen_workers_start_with_the_collections_imported(tmp_path):
    """An action plugin runs in the task's worker process: it sees which collection packages the
    worker inherited from the controller. Nothing in this play uses a collection."""
    (tmp_path / "action_plugins").mkdir()
    (tmp_path / "action_plugins" / "probe.py").write_text(PROBE_ACTION)
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [{"probe": {}}]}]))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_DEPRECATION_WARNINGS": "false",
    }
    proc = subprocess.run(
        [tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    (result,) = report["plays"][0]["tasks"][0]["hosts"].values()
    assert report["plays"][0]["play"]["name"] == "localhost"
    # the collections this project depends on, among everything the ansible package installs
    for needed in ("ansible_collections.community.docker", "ansible_collections.community.general"):
        assert needed in result["imported"], result["imported"][:20]


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("number", [1, 2], ids=["ansible-core", "mitogen"])
def test_the_script_fixes_a_faulty_copy_once_and_refuses_unknown_code(tmp_path, number):
    fix = FIXES[number - 1]
    installed = Path(importlib.import_module(fix.module).__file__).read_text(encoding="utf-8")
    copy = tmp_path / "copy.py"
    copy.write_text(installed.replace(fix.fixed, fix.faulty), encoding="utf-8")

    unfixed = run_script("--check", "--file", str(number), str(copy))
    assert (unfixed.returncode, "not fixed" in unfixed.stderr) == (1, True)
    assert fix.faulty in copy.read_text(encoding="utf-8")

    first = run_script("--file", str(number), str(copy))
    assert first.returncode == 0, first.stderr
    assert "fixed in" in first.stdout
    assert copy.read_text(encoding="utf-8") == installed

    second = run_script("--file", str(number), str(copy))
    assert (second.returncode, "already fixed" in second.stdout) == (0, True)

    copy.write_text(installed.replace(fix.fixed, "pass\n"), encoding="utf-8")
    refused = run_script("--file", str(number), str(copy))
    assert refused.returncode == 1
    assert "neither the faulty nor the fixed code" in refused.stderr


def test_the_installed_packages_carry_every_fix():
    checked = run_script("--check")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.count("already fixed") == len(FIXES)
