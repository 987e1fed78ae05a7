"""Fixtures of the host scenario (the machines themselves are in scenario.py)."""

import os
import sys

# scenario.py and the tests import tests.support.molecule from the project.
sys.path.insert(0, os.environ["MOLECULE_PROJECT_DIRECTORY"])

import pytest
from scenario import DROPLETS, Attacker, Droplet


@pytest.fixture(params=DROPLETS, ids=lambda d: d.name)
def droplet(request) -> Droplet:
    return request.param


@pytest.fixture(scope="session")
def droplets() -> list[Droplet]:
    return DROPLETS


@pytest.fixture(scope="session")
def docker_droplet() -> Droplet:
    return next(d for d in DROPLETS if d.docker)


@pytest.fixture(scope="session")
def socket_droplet() -> Droplet:
    return next(d for d in DROPLETS if d.socket_activated)


@pytest.fixture(scope="session")
def attacker():
    client = Attacker()
    yield client
    client.drop_fresh_addresses()


@pytest.fixture(scope="session", autouse=True)
def nobody_starts_banned():
    """An interrupted earlier run may have left the attacker banned."""
    for droplet in DROPLETS:
        result = droplet.host.run("fail2ban-client unban --all")
        assert result.rc == 0, result.stderr
