"""The installed ansible-core carries scripts/patch-ansible-core.py's fix: run_command does not
sleep on an empty selector when the command exits between its two poll() calls."""

from __future__ import annotations

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

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "patch-ansible-core.py"
PATCH = runpy.run_path(str(SCRIPT))
FAULTY, FIXED = PATCH["FAULTY"], PATCH["FIXED"]


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


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


def test_the_script_fixes_a_faulty_copy_once_and_refuses_unknown_code(tmp_path):
    installed = Path(basic.__file__).read_text(encoding="utf-8")
    faulty = tmp_path / "basic.py"
    faulty.write_text(installed.replace(FIXED, FAULTY), encoding="utf-8")
    assert FAULTY in faulty.read_text(encoding="utf-8")

    first = run_script(str(faulty))
    assert first.returncode == 0, first.stderr
    assert "fixed in" in first.stdout
    assert faulty.read_text(encoding="utf-8") == installed

    second = run_script(str(faulty))
    assert (second.returncode, "already fixed" in second.stdout) == (0, True)

    unknown = tmp_path / "other.py"
    unknown.write_text(installed.replace(FIXED, "                pass\n"), encoding="utf-8")
    refused = run_script(str(unknown))
    assert refused.returncode == 1
    assert "neither the faulty nor the fixed code" in refused.stderr
