"""Starting the DigitalOcean emulator with real backing for a test module (backing tests, e2e)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator


@contextmanager
def docker_backed_emulator(data_dir: Path) -> Iterator[Emulator]:
    """An emulator with EMULATOR_BACKING=docker; on exit it must have removed every container it started."""
    config = EmulatorConfig.from_env(
        port=0, backing="docker", rate_per_minute=None, rate_per_hour=None, data_dir=data_dir
    )
    emulator = Emulator(config).start()
    try:
        yield emulator
    finally:
        emulator.stop()
    instance = emulator.app.backends.docker.instance
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=io.seaworthy.emulator={instance}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert left == [], f"the emulator left containers behind: {left}"
