"""The emulator's state: resources by kind, id sequences, scheduled transitions.

Everything is plain JSON-able data so that the whole state can be written to
and read back from a state file. Transitions (a droplet going `new` ->
`active`, an action completing) are scheduled effects run lazily at the start
of each request once their time has come: deterministic, no timer threads, and
with zero delays a write's response still shows the transitional state while
the next read sees the settled one, as on DigitalOcean.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

# An effect returns None when done, or a number of seconds to try again after
# (used by real backing: "the container is not up yet").
Effect = Callable[[], float | None]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uuid() -> str:
    return str(uuid.uuid4())


class Store:
    def __init__(self, state_file: Path | None = None):
        self.lock = threading.RLock()
        self.state_file = state_file
        self.data: dict[str, dict] = {}  # kind -> {key: resource}
        self.sequences: dict[str, int] = {}
        self._effects: list[tuple[float, int, Effect]] = []
        self._effect_order = itertools.count()
        if state_file and state_file.exists():
            saved = json.loads(state_file.read_text())
            self.data = saved["data"]
            self.sequences = saved["sequences"]

    # -- resources -----------------------------------------------------------
    def table(self, kind: str) -> dict:
        return self.data.setdefault(kind, {})

    def next_id(self, kind: str, start: int = 100000) -> int:
        value = self.sequences.get(kind, start) + 1
        self.sequences[kind] = value
        return value

    def put(self, kind: str, key, resource: dict) -> dict:
        self.table(kind)[str(key)] = resource
        return resource

    def get(self, kind: str, key) -> dict | None:
        return self.table(kind).get(str(key))

    def delete(self, kind: str, key) -> dict | None:
        return self.table(kind).pop(str(key), None)

    def all(self, kind: str) -> list[dict]:
        return list(self.table(kind).values())

    # -- time ----------------------------------------------------------------
    def schedule(self, delay: float, effect: Effect) -> None:
        """Run `effect` at the first request after `delay` seconds."""
        heapq.heappush(self._effects, (time.monotonic() + max(delay, 0.0), next(self._effect_order), effect))

    def run_due(self) -> None:
        now = time.monotonic()
        while self._effects and self._effects[0][0] <= now:
            effect = heapq.heappop(self._effects)[2]
            retry = effect()
            if retry is not None:
                self.schedule(retry, effect)

    def pending_effects(self) -> int:
        return len(self._effects)

    # -- persistence ---------------------------------------------------------
    def save(self) -> None:
        if not self.state_file:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"data": self.data, "sequences": self.sequences}, indent=1, sort_keys=True))
        tmp.replace(self.state_file)

    def reset(self) -> None:
        self.data.clear()
        self.sequences.clear()
        self._effects.clear()
