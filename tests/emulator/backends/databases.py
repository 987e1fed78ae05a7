"""Database backing: the server behind a managed database cluster."""

from __future__ import annotations

import secrets


class DatabaseBackend:
    """Interface; calls happen under the store lock."""

    def create_cluster(self, cluster: dict) -> None:
        """Start making the cluster's server exist (returns at once)."""

    def poll_ready(self, cluster: dict) -> dict | None:
        """Once the server answers: {"host": ..., "private_host": ..., "port": ...}, else None."""
        raise NotImplementedError

    def ca_certificate(self, cluster: dict) -> str:
        """The PEM CA certificate that signs the cluster's server certificate."""
        raise NotImplementedError

    def ensure_user(self, cluster: dict, name: str, password: str) -> None:
        """Create the user (or set its password)."""

    def drop_user(self, cluster: dict, name: str) -> None:
        """Remove the user."""

    def ensure_db(self, cluster: dict, name: str) -> None:
        """Create the database."""

    def drop_db(self, cluster: dict, name: str) -> None:
        """Remove the database."""

    def set_pools(self, cluster: dict, pools: list[dict]) -> None:
        """Serve exactly these connection pools."""

    def set_trusted_sources(self, cluster: dict, rules: list[dict]) -> None:
        """Admit only these sources (an empty list admits all, as on DigitalOcean)."""

    def resize(self, cluster: dict) -> None:
        """Apply the cluster's new size / node count."""

    def delete_cluster(self, cluster: dict) -> None:
        """Remove the server and its data."""

    def reset(self) -> None:
        """Forget everything."""

    def close(self) -> None:
        """Release what was started."""


class MemoryDatabases(DatabaseBackend):
    """Nothing runs: invented host names in DigitalOcean's shape and a real (unused) CA PEM."""

    def __init__(self):
        self._ca: dict[str, str] = {}

    def reset(self) -> None:
        self._ca.clear()

    def poll_ready(self, cluster):
        suffix = cluster["id"][:8]
        return {
            "host": f"{cluster['name']}-do-user-{suffix}-0.db.ondigitalocean.com",
            "private_host": f"private-{cluster['name']}-do-user-{suffix}-0.db.ondigitalocean.com",
            "port": 25060,
        }

    def ca_certificate(self, cluster):
        if cluster["id"] not in self._ca:
            from ..tls import make_ca_pem

            self._ca[cluster["id"]] = make_ca_pem(f"{cluster['name']} CA")
        return self._ca[cluster["id"]]

    @staticmethod
    def new_password() -> str:
        return "AVNS_" + secrets.token_urlsafe(15)
