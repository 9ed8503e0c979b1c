"""Fixtures shared by the unit tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "example"
"""The example inventory the README starts from: every test edits a copy of it."""


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test keeps gpucluster's state (locks, run records) in its own directory."""
    state = tmp_path / "state"
    monkeypatch.setenv("GPUCLUSTER_STATE_DIR", str(state))
    return state


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """A writable copy of the example inventory."""
    target = tmp_path / "inventory"
    shutil.copytree(EXAMPLE, target)
    return target
