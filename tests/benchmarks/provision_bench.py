"""No-change provisioning run: API calls and wall time (issue 5).

    .venv/bin/python -m tests.benchmarks.provision_bench [--droplets 20]

Creates a VPC, a fleet of droplets, two firewalls, a domain and records with the
collection's modules against the emulator, then runs the same play again and
prints, for the no-change run, its wall time and every API call it made grouped
by method and path. Target: only reads, at most one paginated list per resource
type per task.
"""

from __future__ import annotations

import argparse
import collections
import re
import tempfile
import time
from pathlib import Path

from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator
from tests.support.playbooks import run_tasks
from tests.support.stack_tasks import infrastructure


def shape(path: str) -> str:
    return re.sub(r"/[0-9a-f-]{36}|/\d+", "/{id}", path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--droplets", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = EmulatorConfig.from_env(port=0, data_dir=Path(tmp), rate_per_minute=None, rate_per_hour=None)
        with Emulator(config) as emulator:
            tasks = infrastructure(droplets=args.droplets)
            started = time.perf_counter()
            first = run_tasks(tasks, emulator.client_env(), Path(tmp))
            first_seconds = time.perf_counter() - started
            assert first.rc == 0, first.stderr
            first_calls = len(emulator.requests())
            mark = emulator.mark()
            started = time.perf_counter()
            second = run_tasks(tasks, emulator.client_env(), Path(tmp))
            second_seconds = time.perf_counter() - started
            calls = emulator.requests(mark)
    by_path = collections.Counter((c["method"], shape(c["path"])) for c in calls)
    writes = [c for c in calls if c["write"]]
    print(f"{len(tasks)} tasks, {args.droplets} droplets, 2 firewalls, 1 VPC, {len(tasks) - 5} records")
    print(f"first run:  {first_seconds:6.1f} s, {first_calls} API calls, changed={first.changed}")
    print(
        f"second run: {second_seconds:6.1f} s, {len(calls)} API calls ({len(writes)} writes), changed={second.changed}"
    )
    for (method, path), count in sorted(by_path.items()):
        print(f"  {count:3d} x {method} {path}")


if __name__ == "__main__":
    main()
