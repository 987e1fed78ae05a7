"""Fixtures of the proxy scenario (the machines themselves are in scenario.py)."""

import pytest
from scenario import PROXIES, Proxy


@pytest.fixture(params=PROXIES, ids=lambda p: p.server)
def proxy(request) -> Proxy:
    return request.param


@pytest.fixture(scope="session")
def nginx() -> Proxy:
    return next(p for p in PROXIES if p.server == "nginx")
