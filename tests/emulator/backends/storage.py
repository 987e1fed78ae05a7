"""Spaces backing: the S3 endpoint and the keys it accepts."""

from __future__ import annotations


class StorageBackend:
    def after_write(self, store) -> None:
        """Bring derived state in line after any API write (default: nothing to do)."""

    def endpoint(self, region: str) -> str:
        """The S3 endpoint URL clients use for `region`."""
        return f"https://{region}.digitaloceanspaces.com"

    def add_key(self, access_key: str, secret_key: str, grants: list[dict] | None = None) -> None:
        """Accept this key pair at the S3 endpoint, limited to `grants` ({bucket, permission})."""

    def set_grants(self, access_key: str, grants: list[dict]) -> None:
        """Replace what the key may do (read / readwrite per bucket, or fullaccess)."""

    def remove_key(self, access_key: str) -> None:
        """Stop accepting the key."""

    def reset(self) -> None:
        """Forget everything."""

    def close(self) -> None:
        """Release what was started."""


class MemoryStorage(StorageBackend):
    """No S3 server: `keys` records what an S3 endpoint would accept (access key -> secret, grants)."""

    def __init__(self):
        self.keys: dict[str, dict] = {}

    def add_key(self, access_key, secret_key, grants=None):
        self.keys[access_key] = {"secret_key": secret_key, "grants": [dict(g) for g in grants or []]}

    def set_grants(self, access_key, grants):
        # setdefault: a key restored from a state file was never added here
        self.keys.setdefault(access_key, {"secret_key": None})["grants"] = [dict(g) for g in grants]

    def remove_key(self, access_key):
        self.keys.pop(access_key, None)

    def reset(self):
        self.keys.clear()
