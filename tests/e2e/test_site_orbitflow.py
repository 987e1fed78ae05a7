"""Issue 12: `site.yml` on inventories/orbitflow-crm (seed 003: MariaDB as a container, the app
on port 3000 behind Caddy, migrations, daily dumps to Spaces kept 30 days) against the
emulator, through the documented overlay tests/e2e/overlays/orbitflow-crm.yml."""

from __future__ import annotations

import pytest

from tests.e2e.site_checks import SiteE2E
from tests.e2e.site_run import REPO, cached_image

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


class TestOrbitflow(SiteE2E):
    inventory = "orbitflow-crm"
    overlay = "orbitflow-crm.yml"
    image_map = "ubuntu-24-04-x64=debian-13-x64"
    project, env, domain, region = "orbitflow", "production", "crm.orbitflow.example", "fra1"
    web_service = "app"
    version = "1.0.0"
    backup_bucket = "orbitflow-backups"

    @classmethod
    def extra_env(cls) -> dict[str, str]:
        image, archive = cached_image(
            REPO / "tests" / "e2e" / "images" / "mariadb-app", "seaworthy/e2e-mariadb-app", "e2e"
        )
        return {"SEAWORTHY_E2E_MARIADB_IMAGE": image, "SEAWORTHY_E2E_MARIADB_ARCHIVE": str(archive)}
