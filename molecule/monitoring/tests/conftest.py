"""Fixtures of the monitoring scenario (the machines themselves are in scenario.py)."""

import os
import sys

# scenario.py and the tests import tests.support.molecule from the project.
sys.path.insert(0, os.environ["MOLECULE_PROJECT_DIRECTORY"])

import pytest
from scenario import Client, Droplet, droplet_named


@pytest.fixture(scope="session")
def droplet() -> Droplet:
    return droplet_named("droplet-1")


@pytest.fixture(scope="session")
def client():
    client = Client()
    yield client
    client.drop_fresh_addresses()
