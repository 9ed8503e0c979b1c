"""Fixtures shared by the unit tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "example"
"""The example inventory the README starts from: every test edits a copy of it."""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """A writable copy of the example inventory."""
    target = tmp_path / "inventory"
    shutil.copytree(EXAMPLE, target)
    return target
