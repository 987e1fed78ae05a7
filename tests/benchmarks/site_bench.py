"""Wall time, API calls and SSH tasks of the first `site.yml` run (from an empty account)
and of the second (no-change) run, on inventories/local (issue 12).

    .venv/bin/python -m tests.benchmarks.site_bench [--repeat N]

Runs the emulator with real backing (EMULATOR_BACKING=docker) and tears it down at the
end. Target: the second run takes under a fifth of the first. The first and second runs use
ansible.cfg's strategy (Mitogen), as operators run it. N more no-change runs (default 2)
show how much one run varies on this machine; a last no-change run with ansible-core's
linear strategy shows what Mitogen saves. Then where the second run's time went, by play.
Prints numbers; the only failure is a run that fails or changes something after the first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from tests.e2e.site_run import SiteRun, run_site, site_env
from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator


def play_seconds(run: SiteRun) -> list[tuple[str, float, int]]:
    """(play, wall seconds, tasks run on a host and not skipped) for each play of a run."""

    def stamp(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    rows = []
    for play in run.output.get("plays", []):
        span = play["play"]["duration"]
        tasks = sum(
            1
            for task in play.get("tasks", [])
            for result in task.get("hosts", {}).values()
            if not result.get("skipped")
        )
        rows.append((play["play"]["name"], (stamp(span["end"]) - stamp(span["start"])).total_seconds(), tasks))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="no-change runs after the second (default 2)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        config = EmulatorConfig.from_env(
            port=0, backing="docker", rate_per_minute=None, rate_per_hour=None, data_dir=Path(tmp) / "emu"
        )
        emulator = Emulator(config).start()
        try:
            env = site_env(emulator, Path(tmp) / "credentials")
            env["SEAWORTHY_VPC_IP_RANGE"] = "10.232.0.0/20"  # apart from a running `make demo`
            plan = [("first", None), ("second", None)]
            plan += [(f"no-change {n}", None) for n in range(3, 3 + args.repeat)]
            plan += [("no-change/linear", "linear")]
            rows = []
            for label, strategy in plan:
                run = run_site(emulator, env if strategy is None else {**env, "ANSIBLE_STRATEGY": strategy})
                if run.rc != 0 or (label != "first" and run.changed):
                    print(f"site.yml {label} run failed or changed something:", file=sys.stderr)
                    print(*run.failures(), *run.changed_tasks(), run.stderr, sep="\n", file=sys.stderr)
                    return 1
                rows.append((label, run))
        finally:
            emulator.stop()

    print(f"{'site.yml run':<18}{'wall s':>9}{'API calls':>11}{'SSH tasks':>11}{'changed':>9}")
    for label, run in rows:
        print(f"{label:<18}{run.seconds:>9.1f}{run.api_calls:>11}{run.ssh_tasks:>11}{run.changed:>9}")
    first, second = rows[0][1].seconds, rows[1][1].seconds
    no_change = [run.seconds for label, run in rows[1:] if not label.endswith("linear")]
    ratio = second / first
    print(f"second/first wall time: {ratio:.2f} (target < 0.20: {'met' if ratio < 0.2 else 'NOT met'})")
    if len(no_change) > 1:
        print(
            f"no-change runs with Mitogen: median {statistics.median(no_change):.1f} s, "
            f"{min(no_change):.1f}-{max(no_change):.1f} s; median/first {statistics.median(no_change) / first:.2f}"
        )
    print(f"no-change run, linear/Mitogen: {rows[-1][1].seconds / second:.1f}x the time")
    print("\nwhere the second run's time went:")
    for name, seconds, tasks in play_seconds(rows[1][1]):
        print(f"  {seconds:6.1f} s {tasks:4} tasks  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
