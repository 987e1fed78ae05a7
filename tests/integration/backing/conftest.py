"""The emulator with real backing (EMULATOR_BACKING=docker): droplets are systemd containers."""

from __future__ import annotations

import subprocess

import pydo
import pytest

from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator


@pytest.fixture(scope="module")
def docker_emulator(tmp_path_factory):
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


@pytest.fixture(scope="module")
def docker_client(docker_emulator):
    return pydo.Client(
        token=docker_emulator.token, endpoint=docker_emulator.url, connection_verify=str(docker_emulator.ca_bundle)
    )


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory):
    path = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path
