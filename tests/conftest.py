"""Shared pytest configuration for every suite under tests/."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    """The checkout, which is also the collection root."""
    return REPO
