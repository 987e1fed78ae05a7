"""Wall time, API calls and SSH tasks of the first `site.yml` run (from an empty account)
and of the second (no-change) run, on inventories/local (issue 12).

    .venv/bin/python -m tests.benchmarks.site_bench

Runs the emulator with real backing (EMULATOR_BACKING=docker) and tears it down at the
end. Target: the second run takes under a fifth of the first. The first and second runs use
ansible.cfg's strategy (Mitogen); a third, no-change run with ansible-core's linear strategy
shows what Mitogen saves. Prints numbers; the only failure is a run that fails.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.e2e.site_run import run_site, site_env
from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        config = EmulatorConfig.from_env(
            port=0, backing="docker", rate_per_minute=None, rate_per_hour=None, data_dir=Path(tmp) / "emu"
        )
        emulator = Emulator(config).start()
        try:
            env = site_env(emulator, Path(tmp) / "credentials")
            env["SEAWORTHY_VPC_IP_RANGE"] = "10.232.0.0/20"  # apart from a running `make demo`
            rows = []
            # ansible.cfg's strategy (Mitogen) for the first and second runs, as operators run it;
            # then the no-change run once more with ansible-core's own linear strategy, for scale.
            for label, strategy in (("first", None), ("second", None), ("second/linear", "linear")):
                run = run_site(emulator, env if strategy is None else {**env, "ANSIBLE_STRATEGY": strategy})
                if run.rc != 0:
                    print(f"site.yml {label} run failed:", *run.failures(), run.stderr, sep="\n", file=sys.stderr)
                    return 1
                rows.append((label, run))
        finally:
            emulator.stop()
    print(f"{'site.yml run':<16}{'wall s':>9}{'API calls':>11}{'SSH tasks':>11}{'changed':>9}")
    for label, run in rows:
        print(f"{label:<16}{run.seconds:>9.1f}{run.api_calls:>11}{run.ssh_tasks:>11}{run.changed:>9}")
    ratio = rows[1][1].seconds / rows[0][1].seconds
    print(f"second/first wall time: {ratio:.2f} (target < 0.20: {'met' if ratio < 0.2 else 'NOT met'})")
    print(f"second run, linear/Mitogen: {rows[2][1].seconds / rows[1][1].seconds:.1f}x the time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
