"""Issue 12: `site.yml` on inventories/teliporter (seed 002: Managed PostgreSQL 15, Nginx +
Certbot, API under /api/, Redis, Celery worker + beat, migrations) against the emulator,
through the documented overlay tests/e2e/overlays/teliporter.yml."""

from __future__ import annotations

import pytest

from tests.e2e.site_checks import SiteE2E

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


class TestTeliporter(SiteE2E):
    inventory = "teliporter"
    overlay = "teliporter.yml"
    image_map = "ubuntu-22-04-x64=debian-13-x64"
    project, env, domain, region = "teliporter", "production", "app.teliporter.com", "lon1"
    web_service = "backend"
    app_path = "/api/"
    version = "1.0.0"
    backup_bucket = ""  # the seed keeps DigitalOcean's daily managed-database backups (7 days)
