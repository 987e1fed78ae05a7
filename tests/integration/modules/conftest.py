"""Fixtures for module tests: real playbooks against the emulator."""

from __future__ import annotations

import pytest

from tests.support.playbooks import run_tasks


@pytest.fixture
def play(emulator, tmp_path):
    """play(tasks, check=False, diff=False) -> PlaybookRun, with the emulator as DigitalOcean."""

    def run(tasks, **kwargs):
        return run_tasks(tasks, emulator.client_env(), tmp_path, **kwargs)

    return run
