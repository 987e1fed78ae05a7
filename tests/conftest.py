"""Shared pytest configuration for every suite under tests/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "spec_violations_expected: the test sends requests that break the API spec on purpose"
    )


@pytest.fixture(scope="session")
def repo() -> Path:
    """The checkout, which is also the collection root."""
    return REPO


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory):
    """One DigitalOcean emulator for the session (settings from EMULATOR_* like `make emulator`).

    Ports are picked free unless EMULATOR_PORT is set; spec validation is on.
    Without the spec (../shared/do-openapi) the emulator tests are skipped
    locally and FAIL in CI, where the contract check is mandatory.
    """
    from tests.emulator.config import EmulatorConfig
    from tests.emulator.server import Emulator

    config = EmulatorConfig.from_env(
        port=int(os.environ.get("EMULATOR_PORT", "0")),
        rate_per_minute=None,  # suites make many calls; the rate-limit tests use their own instance
        rate_per_hour=None,
    )
    if config.validate and not config.spec_path.exists():
        message = f"DigitalOcean OpenAPI spec missing at {config.spec_path}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (required in CI)", pytrace=False)
        pytest.skip(message)
    emulator = Emulator(config).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emulator(emulator_server, request):
    """The session's emulator, reset for this test; fails the test on any spec violation."""
    emulator_server.reset()
    yield emulator_server
    violations = emulator_server.violations()
    if request.node.get_closest_marker("spec_violations_expected"):
        violations = [v for v in violations if v["kind"] != "request"]
    if violations:
        lines = "\n".join(f"  {v['kind']}: {v['method']} {v['path']} -> {v['message'][:400]}" for v in violations)
        pytest.fail(f"{len(violations)} OpenAPI spec violation(s):\n{lines}", pytrace=False)


@pytest.fixture
def do_client(emulator):
    """A pydo client on the emulator, as a module would build it (HTTPS, the test CA trusted)."""
    import pydo

    return pydo.Client(token=emulator.token, endpoint=emulator.url, connection_verify=str(emulator.ca_bundle))
