#!/usr/bin/env python3
"""Fix a race in ansible-core's AnsibleModule.run_command that costs a second per hit.

run_command reads the child's stdout and stderr until both are closed, then:

    elif not selector.get_map() and cmd.poll() is None:
        cmd.wait()
        break

When the child exits between this poll() and the one just before it, neither
branch breaks, and the loop goes back to `selector.select(1)` with nothing left
to watch: a one-second sleep. Short commands that close their pipes just before
they exit (systemctl, usermod...) hit it often: 5 to 7 runs in 100 of
`systemctl is-active` on a Debian 13 droplet took 1.01 s instead of 4 ms, so a
no-change site.yml lost about one second in most runs, at a random task. Every
module that runs a command on a host (systemd_service, user, apt, command...)
gets this function from the controller's ansible-core, so fixing it there fixes
it on every host. Present in ansible-core 2.11 to 2.19.14 at least.

With no pipe left to read, waiting is always right: the child either has exited
(wait() returns at once) or has not (wait() blocks until it does).

Run with the Python whose ansible-core to fix (scripts/setup.sh runs it with
.venv/bin/python; execution-environment.yml runs it in the image), or give it the path of a
copy of module_utils/basic.py. Idempotent:
it says whether it changed the file, and fails when it finds neither the faulty
nor the fixed code (a new ansible-core: check whether it still needs the fix).
tests/unit/test_ansible_core_patch.py proves the installed copy does not sleep.
"""

from __future__ import annotations

import sys
from pathlib import Path

FAULTY = "                elif not selector.get_map() and cmd.poll() is None:\n                    cmd.wait()\n"
FIXED = (
    "                elif not selector.get_map():  # seaworthy: no second poll() (scripts/patch-ansible-core.py)\n"
    "                    cmd.wait()\n"
)


def main(argv: list[str]) -> int:
    if argv:  # a copy of basic.py to fix (the unit test's)
        path = Path(argv[0])
    else:
        from ansible.module_utils import basic  # the Python that runs this script is the one to fix

        path = Path(basic.__file__)
    source = path.read_text(encoding="utf-8")
    if FIXED in source:
        print(f"ansible-core run_command race: already fixed in {path}")
        return 0
    if source.count(FAULTY) != 1:
        print(
            f"ansible-core run_command race: {path} has neither the faulty nor the fixed code;"
            " this ansible-core is not the pinned one: check whether it still needs scripts/patch-ansible-core.py",
            file=sys.stderr,
        )
        return 1
    path.write_text(source.replace(FAULTY, FIXED), encoding="utf-8")
    print(f"ansible-core run_command race: fixed in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
