#!/usr/bin/env python
"""Two small fixes to pinned dependencies, each a few lines, until their projects make them.

1. ansible-core (2.11 to 2.19.14 at least): AnsibleModule.run_command can sleep a second
   after a command has finished. It reads the child's stdout and stderr until both are
   closed, then:

       elif not selector.get_map() and cmd.poll() is None:
           cmd.wait()
           break

   When the child exits between this poll() and the one just before it, neither branch
   breaks, and the loop goes back to `selector.select(1)` with nothing left to watch: a
   one-second sleep. Short commands that close their pipes just before they exit
   (systemctl, usermod...) hit it often: 5 to 7 runs in 100 of `systemctl is-active` on a
   Debian 13 droplet took 1.01 s instead of 4 ms, so a no-change site.yml lost about a
   second in most runs, at a random task. Every module that runs a command on a host gets
   this function from the controller's ansible-core, so fixing it there fixes every host.
   With no pipe left to read, waiting is always right: the child has exited (wait()
   returns at once) or has not (wait() blocks until it does).

2. Mitogen (0.3.54): for every task whose module comes from a collection, the task's
   worker process lists every installed collection (planner._load_collections), which
   imports each collection's package and parses its meta/runtime.yml: the `ansible`
   package installs about 90, so each such task spent 60-100 ms on it, in a process that
   exits after the task. Listing them once in the controller, before it forks the workers
   of a play, lets every worker inherit the imported collections.

Run with the Python whose packages to fix (scripts/setup.sh runs it with .venv/bin/python;
execution-environment.yml runs it in the image); `--check` only reports. Idempotent: it
says what it changed, and fails when it finds neither the faulty nor the fixed code (a new
version: check whether it still needs the fix, then update or drop it here).
tests/unit/test_dependency_patches.py proves the installed copies behave.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import NamedTuple


class Fix(NamedTuple):
    name: str
    module: str  # the installed file to fix is this module's
    faulty: str
    fixed: str


FIXES = (
    Fix(
        name="ansible-core run_command race",
        module="ansible.module_utils.basic",
        faulty="                elif not selector.get_map() and cmd.poll() is None:\n                    cmd.wait()\n",
        fixed=(
            "                elif not selector.get_map():  # seaworthy: no second poll() (scripts/patch-dependencies.py)\n"
            "                    cmd.wait()\n"
        ),
    ),
    Fix(
        name="Mitogen collection listing per task",
        module="ansible_mitogen.strategy",
        faulty=(
            "            self._worker_model.on_strategy_start()\n            try:\n                wrappers.install()\n"
        ),
        fixed=(
            "            self._worker_model.on_strategy_start()\n"
            "            try:\n"
            "                # seaworthy: list (import) the collections once, before the workers fork\n"
            "                # (scripts/patch-dependencies.py)\n"
            "                import ansible.collections.list\n"
            "                for _ in ansible.collections.list.list_collection_dirs():\n"
            "                    pass\n"
            "                wrappers.install()\n"
        ),
    ),
)


def apply(fix: Fix, path: Path, check: bool) -> tuple[bool, str]:
    """(ok, what happened) for one fix on one file."""
    source = path.read_text(encoding="utf-8")
    if fix.fixed in source:
        return True, f"{fix.name}: already fixed in {path}"
    if source.count(fix.faulty) != 1:
        return False, (
            f"{fix.name}: {path} has neither the faulty nor the fixed code; this is not the pinned"
            " version: check whether it still needs scripts/patch-dependencies.py"
        )
    if check:
        return False, f"{fix.name}: not fixed in {path}"
    path.write_text(source.replace(fix.faulty, fix.fixed), encoding="utf-8")
    return True, f"{fix.name}: fixed in {path}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, change nothing; fail when a fix is missing")
    parser.add_argument(
        "--file", nargs=2, metavar=("FIX", "PATH"), help="apply fix number FIX (1 or 2) to a copy at PATH instead"
    )
    args = parser.parse_args(argv)
    if args.file:
        targets = [(FIXES[int(args.file[0]) - 1], Path(args.file[1]))]
    else:
        targets = [(fix, Path(importlib.import_module(fix.module).__file__)) for fix in FIXES]
    failed = False
    for fix, path in targets:
        ok, message = apply(fix, path, args.check)
        print(message, file=sys.stdout if ok else sys.stderr)
        failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
