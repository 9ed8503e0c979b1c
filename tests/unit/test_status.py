"""`gpucluster status` finds the last install of the inventory it is asked about."""

from __future__ import annotations

import json
from pathlib import Path

from gpucluster.commands.status import describe_run, last_install, last_run


def _run(state: Path, name: str, inventory: Path, succeeded: bool) -> None:
    run_dir = state / "runs" / name
    run_dir.mkdir(parents=True)
    (run_dir / "summary.json").write_text(
        json.dumps(
            {
                "inventory": str(inventory.resolve()),
                "succeeded": succeeded,
                "changed_total": 0,
                "elapsed_s": 1.0,
            }
        )
    )


def test_newest_install_of_this_inventory_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUCLUSTER_STATE_DIR", str(tmp_path))
    mine, other = tmp_path / "mine", tmp_path / "other"
    _run(tmp_path, "20261101T000000Z-install", mine, succeeded=False)
    _run(tmp_path, "20261102T000000Z-install", mine, succeeded=True)
    _run(tmp_path, "20261103T000000Z-install", other, succeeded=False)
    _run(tmp_path, "20261104T000000Z-check", mine, succeeded=False)
    found = last_install(mine)
    assert found is not None and found["succeeded"] is True
    assert found["run_dir"].endswith("20261102T000000Z-install")


def test_no_install_yet(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUCLUSTER_STATE_DIR", str(tmp_path))
    assert last_install(tmp_path / "inv") is None


def test_last_run_skips_probes_and_reads_a_dead_running_run_as_interrupted(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUCLUSTER_STATE_DIR", str(tmp_path))
    mine = tmp_path / "mine"
    _run(tmp_path, "20261101T000000Z-install", mine, succeeded=True)
    run_dir = tmp_path / "runs" / "20261102T000000Z-install"
    run_dir.mkdir(parents=True)
    (run_dir / "summary.json").write_text(
        json.dumps(
            {
                "command": "install",
                "inventory": str(mine.resolve()),
                "outcome": "running",
                "pid": 2**22 + 1,  # above any pid this machine hands out
                "started": "2026-11-02T00:00:00+00:00",
            }
        )
    )
    _run(tmp_path, "20261103T000000Z-status", mine, succeeded=True)
    for found in (last_run(mine), last_install(mine)):
        assert found is not None and found["outcome"] == "interrupted"
        assert found["run_dir"].endswith("20261102T000000Z-install")
    assert describe_run(found).startswith("install: interrupted, started 2026-11-0")
