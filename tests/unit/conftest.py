"""Fixtures shared by the unit tests."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gpucluster.commands import common
from gpucluster.run_result import RunResult
from gpucluster.runner import RunRequest

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "example"
"""The example inventory the README starts from: every test edits a copy of it."""
COLLECTORS = Path(__file__).resolve().parents[2] / "roles" / "node_exporter" / "files"
"""node_exporter's textfile collectors: scripts the nodes run, not modules of the package."""


def load_collector(name: str) -> ModuleType:
    """One collector as a module, importing its helper textfile.py from beside it as the
    node does (registered in sys.modules: dataclasses look their module up there)."""
    if str(COLLECTORS) not in sys.path:
        sys.path.insert(0, str(COLLECTORS))
    spec = importlib.util.spec_from_file_location(name, COLLECTORS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


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


@pytest.fixture
def hosts(inventory: Path) -> Path:
    """The copy's hosts.yml."""
    return inventory / "hosts.yml"


@pytest.fixture
def edited_meanwhile(hosts: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Someone else changes hosts.yml while an edit validates its result; returns their text.

    The edit under test must then refuse to write ("changed by someone else").
    """
    import gpucluster.inventory.edit as inventory_edit

    validate = inventory_edit.cluster_from_documents
    concurrent = hosts.read_text() + "# someone else's edit\n"

    def validate_while_someone_edits(*args: object, **kwargs: object) -> object:
        hosts.write_text(concurrent)
        return validate(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inventory_edit, "cluster_from_documents", validate_while_someone_edits)
    return concurrent


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[RunRequest]:
    """The runs commands start, recorded instead of run; each succeeds.

    Patched where every command's run goes through (common.run_with_progress calls it), so
    no command can reach the example inventory's addresses.
    """
    seen: list[RunRequest] = []

    def fake_run(request: RunRequest, progress: object = None) -> RunResult:
        seen.append(request)
        result = RunResult(run_dir=Path("/r"), status="successful", rc=0, elapsed_s=0.0)
        result.judge()
        return result

    monkeypatch.setattr(common, "run_playbook", fake_run)
    return seen
