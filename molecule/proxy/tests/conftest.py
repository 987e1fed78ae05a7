"""Fixtures of the proxy scenario (the machines themselves are in scenario.py)."""

import os
import sys

# scenario.py and the tests import tests.support.molecule from the project.
sys.path.insert(0, os.environ["MOLECULE_PROJECT_DIRECTORY"])

import pytest
from scenario import PROXIES, Proxy


@pytest.fixture(params=PROXIES, ids=lambda p: p.server)
def proxy(request) -> Proxy:
    return request.param


@pytest.fixture(scope="session")
def nginx() -> Proxy:
    return next(p for p in PROXIES if p.server == "nginx")
