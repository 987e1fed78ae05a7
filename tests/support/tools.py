"""Locating the toolchain's commands from inside the tests."""

import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A command from the venv running the tests (ansible-galaxy, ansible-playbook, ...), PATH or not."""
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else name
