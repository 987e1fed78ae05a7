"""End-to-end: site.yml on the emulator with real backing (`make e2e`, marker `e2e`)."""

from __future__ import annotations

import subprocess

import pytest

from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: site.yml end to end on the emulator with real backing (slow)")


@pytest.fixture(scope="module")
def real_emulator(tmp_path_factory):
    config = EmulatorConfig.from_env(
        port=0, backing="docker", rate_per_minute=None, rate_per_hour=None, data_dir=tmp_path_factory.mktemp("emu")
    )
    emulator = Emulator(config).start()
    yield emulator
    emulator.stop()
    instance = emulator.app.backends.docker.instance
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=io.seaworthy.emulator={instance}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert left == [], f"the emulator left containers behind: {left}"
