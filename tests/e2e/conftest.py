"""End-to-end: site.yml on the emulator with real backing (`make e2e`, marker `e2e`)."""

from __future__ import annotations

import pytest

from tests.support.emulators import docker_backed_emulator


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: site.yml end to end on the emulator with real backing (slow)")


@pytest.fixture(scope="module")
def real_emulator(tmp_path_factory):
    with docker_backed_emulator(tmp_path_factory.mktemp("emu")) as emulator:
        yield emulator
