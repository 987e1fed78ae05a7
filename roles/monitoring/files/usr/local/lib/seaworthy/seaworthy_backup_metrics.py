"""Export the backup role's outcomes for the node exporter's textfile collector.

The backup tool (seaworthy-backup) records, in its state directory, `<job>.last_success`
(ISO 8601 UTC) after each success and `<job>.reported` after a failure it reported;
other actions (restore tests) use `<job>.<action>.last_success` and `<job>.<action>.reported`.
This writes `<textfile dir>/seaworthy_backup.prom` from them, atomically. The monitoring role
runs it every minute (seaworthy-backup-metrics.timer).

    python3 seaworthy_backup_metrics.py STATE_DIR TEXTFILE_DIR
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

OUTPUT = "seaworthy_backup.prom"
SUCCESS = ".last_success"
FAILURE = ".reported"
METRICS = {
    "seaworthy_backup_last_success_timestamp_seconds": "Unix time of the job's last successful backup.",
    "seaworthy_backup_last_run_success": "1 if the job's last backup run succeeded, 0 if it failed.",
    "seaworthy_backup_action_last_success_timestamp_seconds": "Unix time of the last success of another action "
    "(restore test).",
    "seaworthy_backup_action_last_run_success": "1 if the action's last run succeeded, 0 if it failed.",
}


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def read_timestamp(path: Path) -> float | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
        # dt.timezone.utc, not dt.UTC: Ubuntu 22.04 runs Python 3.10.
        utc = dt.timezone.utc  # noqa: UP017
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=utc).timestamp()
    except (OSError, ValueError):
        return None


def modified(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def collect(state: Path) -> dict[str, list[str]]:
    """Sample lines per metric name."""
    samples: dict[str, list[str]] = {name: [] for name in METRICS}
    names = {p.name[: -len(SUCCESS)] for p in state.glob("*" + SUCCESS)}
    names |= {p.name[: -len(FAILURE)] for p in state.glob("*" + FAILURE)}
    for name in sorted(names):
        job, action = [*name.split(".", 1), ""][:2]
        success_file, failure_file = state / (name + SUCCESS), state / (name + FAILURE)
        last_success = read_timestamp(success_file)
        failed_at, succeeded_at = modified(failure_file), modified(success_file)
        failed = failed_at is not None and (succeeded_at is None or failed_at > succeeded_at)
        labels = f'backup="{escape(job)}"' + (f',action="{escape(action)}"' if action else "")
        prefix = "seaworthy_backup_action_" if action else "seaworthy_backup_"
        if last_success is not None:
            samples[prefix + "last_success_timestamp_seconds"].append(f"{{{labels}}} {last_success:.0f}")
        if last_success is not None or failed:
            samples[prefix + "last_run_success"].append(f"{{{labels}}} {0 if failed else 1}")
    return samples


def render(samples: dict[str, list[str]]) -> str:
    lines = []
    for name, help_text in METRICS.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [name + sample for sample in samples[name]]
    return "\n".join(lines) + "\n"


def write_atomically(directory: Path, content: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=".seaworthy_backup.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as output:
            output.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, directory / OUTPUT)
    except BaseException:
        os.unlink(temporary)
        raise


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    state, textfiles = Path(argv[1]), Path(argv[2])
    write_atomically(textfiles, render(collect(state)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
