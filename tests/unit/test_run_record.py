"""Every run is recorded: at its start, at its end, and when it is cut short or its controller
dies; `gpucluster runs` lists them newest first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gpucluster.cli import main
from gpucluster.run_record import (
    command_slug,
    new_run_dir,
    read_record,
    runs_of,
    starting_summary,
    write_summary,
)
from gpucluster.run_result import SUMMARY_FILE

SLOW_PLAYBOOK = """---
- name: Slow
  hosts: all
  gather_facts: false
  tasks:
    - name: Take a while
      ansible.builtin.command: sleep 30
      changed_when: false
"""

RUN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gpucluster.interrupts import RunInterrupted
    from gpucluster.runner import RunRequest, run_playbook
    request = RunRequest(playbook=sys.argv[1], inventory=Path(sys.argv[2]), command_name="install")
    try:
        run_playbook(request, lambda outcome: None)
    except RunInterrupted as interrupted:
        print(interrupted, flush=True)
        sys.exit(interrupted.exit_code)
    """
)


def _record(state: Path, name: str, inventory: Path, **summary) -> Path:
    run_dir = state / "runs" / name
    run_dir.mkdir(parents=True)
    data = {"inventory": str(inventory.resolve()), **summary}
    (run_dir / SUMMARY_FILE).write_text(json.dumps(data))
    return run_dir


def test_run_directories_are_named_one_way():
    assert command_slug("user add") == "user-add"
    assert command_slug("backup restore-ldap") == "backup-restore-ldap"
    first, second = new_run_dir("user add"), new_run_dir("user add")
    assert first.name.endswith("Z-user-add")
    assert second.name == f"{first.name}-1" or second.name.endswith("Z-user-add")


def test_a_running_record_whose_controller_is_gone_reads_as_interrupted(inventory):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    run_dir = new_run_dir("install")
    summary = starting_summary("install", inventory)
    write_summary(run_dir, summary)
    record = read_record(run_dir)
    assert record is not None and record.outcome == "running"  # this process runs
    write_summary(run_dir, {**summary, "pid": int(dead.stdout), "pid_started": None})
    record = read_record(run_dir)
    assert record is not None and record.outcome == "interrupted"


def test_runs_of_an_inventory_newest_first_probes_left_out(inventory, state_dir, tmp_path):
    _record(state_dir, "20261101T000000Z-install", inventory, succeeded=False)
    _record(state_dir, "20261102T000000Z-add-node", inventory, outcome="partial")
    _record(state_dir, "20261103T000000Z-status", inventory, command="status", outcome="failed")
    _record(state_dir, "20261104T000000Z-install", tmp_path / "other", outcome="succeeded")
    found = runs_of(inventory / "hosts.yml", include_probes=False)  # the hosts file: same
    assert [(r.command, r.outcome) for r in found] == [
        ("add-node", "partial"),
        ("install", "failed"),
    ]
    assert len(runs_of(inventory)) == 3


def test_cli_runs_lists_history(inventory, state_dir, capsys):
    _record(
        state_dir,
        "20261102T000000Z-user-add",
        inventory,
        command="user add",
        outcome="partial",
        started="2026-11-02T00:00:00+00:00",
        elapsed_s=12.5,
        hosts={"a": {"changed": 2, "failed": 0, "unreachable": 0},
               "b": {"changed": 0, "failed": 0, "unreachable": 1}},
    )  # fmt: skip
    assert main(["runs", "-i", str(inventory)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "user add" in line)
    assert "partial" in row and "12 s" in row and "20261102T000000Z-user-add" in row


@pytest.fixture
def local_inventory(tmp_path: Path) -> Path:
    inventory = tmp_path / "local" / "hosts.yml"
    inventory.parent.mkdir()
    inventory.write_text(
        "all:\n  hosts:\n    localnode:\n"
        "      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    return inventory


def _start_slow_run(tmp_path: Path, inventory: Path, state_dir: Path) -> subprocess.Popen[str]:
    playbook = tmp_path / "slow.yml"
    playbook.write_text(SLOW_PLAYBOOK)
    return subprocess.Popen(
        [sys.executable, "-c", RUN, str(playbook), str(inventory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "GPUCLUSTER_STATE_DIR": str(state_dir), "GPUCLUSTER_MITOGEN": "0"},
    )


def _ansible_playbooks_of(playbook: Path) -> list[int]:
    """Processes running this playbook (ansible-playbook and its workers)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(playbook).encode() in cmdline and any(b"ansible-playbook" in a for a in cmdline):
            found.append(int(entry.name))
    return found


def _gone(playbook: Path, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while _ansible_playbooks_of(playbook):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _text_of(event: Path) -> str:
    """An event file's text; "" when ansible-runner renamed it (its -partial name) meanwhile."""
    try:
        return event.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _wait_until_running(inventory: Path, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = runs_of(inventory)
        if records and records[0].outcome == "running":
            events = records[0].run_dir.rglob("job_events/*.json")
            if any('"runner_on_start"' in _text_of(event) for event in events):
                return records[0].run_dir
        time.sleep(0.2)
    raise AssertionError("the run never started its task")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_run_and_records_it_interrupted(
    tmp_path, local_inventory, state_dir, signum
):
    process = _start_slow_run(tmp_path, local_inventory, state_dir)
    try:
        run_dir = _wait_until_running(local_inventory)
        started = time.monotonic()
        process.send_signal(signum)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signum, output
    assert time.monotonic() - started < 20  # the 30 s task was stopped, not waited for
    assert _gone(tmp_path / "slow.yml"), "ansible-playbook or a worker still runs"
    assert "run recorded as interrupted" in output
    summary = json.loads((run_dir / SUMMARY_FILE).read_text())
    assert summary["outcome"] == "interrupted" and summary["ended"]
    assert read_record(run_dir).outcome == "interrupted"


def test_a_killed_controller_leaves_a_record_that_reads_interrupted(
    tmp_path, local_inventory, state_dir
):
    process = _start_slow_run(tmp_path, local_inventory, state_dir)
    try:
        run_dir = _wait_until_running(local_inventory)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # ansible-playbook was told (orphan_guard) and stopped, long before its 30 s task ended.
    assert _gone(tmp_path / "slow.yml", timeout=15), "ansible-playbook outlived its controller"
    summary = json.loads((run_dir / SUMMARY_FILE).read_text())
    assert summary["outcome"] == "running"  # nobody could rewrite it
    assert read_record(run_dir).outcome == "interrupted"
