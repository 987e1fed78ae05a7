"""DNS backing: make a domain's records resolve somewhere tests can ask."""

from __future__ import annotations


class DnsBackend:
    def sync_domain(self, domain: str, records: list[dict]) -> None:
        """Serve exactly `records` for `domain`."""

    def remove_domain(self, domain: str) -> None:
        """Stop serving `domain`."""

    def reset(self) -> None:
        """Forget everything."""

    def close(self) -> None:
        """Release what was started."""


class MemoryDns(DnsBackend):
    """Records are only API data."""
