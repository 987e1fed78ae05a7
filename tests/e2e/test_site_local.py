"""Issue 12: `site.yml` on inventories/local (the demo: container PostgreSQL, Caddy, backups to
Spaces), from an empty account to the demo app over HTTPS; a second run and --check change nothing."""

from __future__ import annotations

from typing import ClassVar

import pytest

from tests.e2e.site_checks import SiteE2E

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


class TestLocal(SiteE2E):
    inventory = "local"
    env_overrides: ClassVar[dict[str, str]] = {
        "SEAWORTHY_VPC_IP_RANGE": "10.231.0.0/20"
    }  # apart from a running `make demo`
    project, env, domain = "demo", "local", "demo.seaworthy.test"
    version = "1"
    backup_bucket = "demo-local-backups"
