"""End-to-end: site.yml on the emulator with real backing (`make e2e`, marker `e2e`).

Each inventory's test module gets its own emulator (its own public network, VPC range,
Spaces, DNS and Pebble), so the modules can run side by side: `pytest -n 3 --dist loadfile`.
"""

from __future__ import annotations

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: site.yml end to end on the emulator with real backing (slow)")


@pytest.fixture(scope="class")
def site(request):
    """The runs of the test class's inventory (tests/e2e/site_checks.py: SiteE2E)."""
    from tests.e2e.site_checks import site_runs

    yield from site_runs(request.cls)
