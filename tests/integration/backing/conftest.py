"""The emulator with real backing (EMULATOR_BACKING=docker): droplets are systemd containers."""

from __future__ import annotations

import subprocess

import pydo
import pytest

from tests.support.emulators import docker_backed_emulator


@pytest.fixture(scope="module")
def docker_emulator(tmp_path_factory):
    with docker_backed_emulator(tmp_path_factory.mktemp("emu")) as emulator:
        yield emulator


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
