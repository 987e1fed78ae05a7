"""DNS backing: make a domain's records resolve somewhere tests can ask."""

from __future__ import annotations


class DnsBackend:
    def after_write(self, store) -> None:
        """Bring derived state in line after any API write (default: nothing to do)."""

    def sync_domain(self, domain: str, records: list[dict]) -> None:
        """Serve exactly `records` for `domain`."""

    def remove_domain(self, domain: str) -> None:
        """Stop serving `domain`."""

    def reset(self) -> None:
        """Forget everything."""

    def close(self) -> None:
        """Release what was started."""


class MemoryDns(DnsBackend):
    """Nothing resolves; the zones it was asked to serve are kept for tests to inspect."""

    def __init__(self):
        self.zones: dict[str, list[dict]] = {}

    def sync_domain(self, domain, records):
        self.zones[domain] = [dict(r) for r in records]

    def remove_domain(self, domain):
        self.zones.pop(domain, None)

    def reset(self):
        self.zones.clear()
