"""Fault injection, driven by tests through the admin API (`POST /_emulator/faults`).

A rule matches requests by method and path (a regular expression, searched) and
applies to the next `count` of them:

- `status`: answer this status (429, 500, 503, ...) instead of handling the request;
  with `retry_after` for 429.
- `after_commit: true` + `status`: handle the request for real (the resource is
  created), then answer `status` anyway -- the duplicate-create trap.
- `delay`: sleep this many seconds before answering (a slow API).
- `drop: true`: close the connection without an answer (after handling the
  request when `after_commit` is also set).
- `action_error: true`: actions started by the matching request end `errored`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, field


@dataclass
class FaultRule:
    path: str = ".*"
    method: str = "*"
    count: int = 1
    status: int | None = None
    retry_after: int | None = None
    after_commit: bool = False
    delay: float = 0.0
    drop: bool = False
    action_error: bool = False
    message: str | None = None
    id: int = 0
    hits: int = 0
    _pattern: re.Pattern = field(default=None, repr=False)

    def __post_init__(self):
        self.method = self.method.upper()
        self._pattern = re.compile(self.path)
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if self.after_commit and not (self.status or self.drop):
            raise ValueError("after_commit needs a status or drop")

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and bool(self._pattern.search(path))

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("_pattern", None)
        data["remaining"] = self.count - self.hits
        return data


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, spec: dict) -> FaultRule:
        allowed = {k for k in FaultRule.__dataclass_fields__ if not k.startswith("_") and k not in ("id", "hits")}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)} (allowed: {sorted(allowed)})")
        rule = FaultRule(**spec)
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first live rule matching this request, consumed by one."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    if rule.hits >= rule.count:
                        self._rules.remove(rule)
                    return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict]:
        with self._lock:
            return [r.as_dict() for r in self._rules]
