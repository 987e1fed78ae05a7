"""DigitalOcean's rate limits: 5,000 requests per hour and 250 per minute, per token.

Every response carries `ratelimit-limit` / `ratelimit-remaining` /
`ratelimit-reset` (the hourly quota, as DigitalOcean reports it); a request over
either limit is refused with 429 and `Retry-After` when enforcement is on.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RateLimiter:
    def __init__(self, per_minute: int | None, per_hour: int | None, clock=time.time):
        self.per_minute = per_minute
        self.per_hour = per_hour
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    @property
    def nominal_hourly(self) -> int:
        return self.per_hour or 5000

    def check(self, token: str) -> tuple[bool, dict[str, str], int]:
        """Record a request; return (allowed, headers, retry_after_seconds)."""
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(token, deque())
            while seen and seen[0] <= now - 3600:
                seen.popleft()
            last_minute = sum(1 for t in seen if t > now - 60)
            retry_after = 0
            if self.per_minute is not None and last_minute >= self.per_minute:
                oldest_in_minute = next(t for t in seen if t > now - 60)
                retry_after = max(1, math.ceil(oldest_in_minute + 60 - now))
            if self.per_hour is not None and len(seen) >= self.per_hour:
                retry_after = max(retry_after, 1, math.ceil(seen[0] + 3600 - now))
            allowed = retry_after == 0
            if allowed:
                seen.append(now)
            remaining = max(0, self.nominal_hourly - len(seen))
            reset = int(seen[0] + 3600) if seen else int(now + 3600)
        headers = {
            "ratelimit-limit": str(self.nominal_hourly),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset),
        }
        return allowed, headers, retry_after

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()
