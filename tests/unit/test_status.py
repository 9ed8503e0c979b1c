"""`gpucluster status` finds the last install of the inventory it is asked about."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from gpucluster.commands import status
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


ROOT = Path(__file__).resolve().parents[2]


def test_the_status_probe_reports_the_roll_marks_as_json(tmp_path):
    """files/node_status.py runs on this machine as on a node; its JSON comes from json.dumps,
    so a mark or a unit name with quotes stays data."""
    marks = tmp_path / "roll-pending"
    marks.mkdir()
    (marks / "restart-docker").write_text("")
    (marks / 'odd"name').write_text("")
    probe = ROOT / "playbooks" / "files" / "node_status.py"
    done = subprocess.run(
        [sys.executable, str(probe), str(marks)], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout)
    assert report["roll_pending"] == 'odd"name,restart-docker'
    assert report["uptime_s"] >= 0 and {"systemd", "failed_units"} <= set(report)


def test_status_looks_for_the_roll_marks_where_common_writes_them():
    common = yaml.safe_load((ROOT / "roles" / "common" / "defaults" / "main.yml").read_text())
    status = (ROOT / "playbooks" / "status.yml").read_text()
    assert f"common_roll_dir | default('{common['common_roll_dir']}')" in status


def test_a_node_without_a_readable_report_counts_as_down():
    """An unreachable node's result has no script output: status says `no`, not a traceback."""
    assert status._report_of(None) is None
    assert status._report_of({"unreachable": True, "msg": "No route to host"}) is None
    assert status._report_of({"stdout": "not json"}) is None
    assert status._report_of({"stdout": "{}"}) is None
    report = {"systemd": "running", "failed_units": "", "uptime_s": 5}
    assert status._report_of({"stdout": json.dumps(report)}) == report
