"""Spaces backing: the S3 endpoint and the keys it accepts."""

from __future__ import annotations


class StorageBackend:
    def endpoint(self, region: str) -> str:
        """The S3 endpoint URL clients use for `region`."""
        return f"https://{region}.digitaloceanspaces.com"

    def add_key(self, access_key: str, secret_key: str) -> None:
        """Accept this key pair at the S3 endpoint."""

    def remove_key(self, access_key: str) -> None:
        """Stop accepting the key."""

    def reset(self) -> None:
        """Forget everything."""

    def close(self) -> None:
        """Release what was started."""


class MemoryStorage(StorageBackend):
    """No S3 server: keys are only API records."""
