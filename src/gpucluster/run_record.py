"""Every run's record: its directory, and a summary.json written when it starts and when it ends.

A run that is cut short must not vanish: `status` would then report the run before it as the
last one. So the summary is written before Ansible starts (outcome "running", with the pid of
the controlling gpucluster process) and rewritten when the run ends, however it ends. A
controller killed outright (SIGKILL, a lost machine) leaves "running" behind with a pid that
no longer runs; readers show such a run as interrupted.

Run directories are named one way: `<UTC time>-<command>`, the command's words joined by `-`
(`20261102T101500Z-user-add`), with `-N` added when two start in the same second.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gpucluster import paths
from gpucluster.processes import is_running, start_ticks
from gpucluster.run_result import FAILED, INTERRUPTED, RUNNING, SUCCEEDED, SUMMARY_FILE

RUNS_DIR = "runs"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_STAMP = re.compile(r"(\d{8}T\d{6}Z)-(.+?)(?:-\d+)?$")

PROBE_COMMANDS = frozenset({"status", "check", "backup list"})
"""Runs that only look at the nodes: left out of `runs` (unless --all) and of "last run"."""


def runs_dir() -> Path:
    return paths.state_dir() / RUNS_DIR


def command_slug(command: str) -> str:
    """The command as it appears in a run directory's name: `user add` -> `user-add`."""
    return re.sub(r"[^A-Za-z0-9]+", "-", command).strip("-") or "run"


def new_run_dir(command: str) -> Path:
    """A fresh, uniquely named directory for one run's log and artifacts."""
    stamp = datetime.now(UTC).strftime(STAMP_FORMAT)
    runs = runs_dir()
    for attempt in range(1000):
        suffix = f"-{attempt}" if attempt else ""
        candidate = runs / f"{stamp}-{command_slug(command)}{suffix}"
        try:
            candidate.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            continue
        return candidate
    raise RuntimeError(f"cannot create a run directory under {runs}")


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def local_time(iso: object) -> str:
    """An ISO 8601 time as this machine's local time, to the second ("?" when unreadable)."""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return "?"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def starting_summary(command: str, inventory: Path, **details: Any) -> dict[str, Any]:
    """What is known when a run starts; `details` adds the request's options (limit, check)."""
    pid = os.getpid()
    return {
        "command": command,
        "inventory": str(inventory.resolve()),
        "inventory_dir": str(inventory_dir(inventory)),
        "outcome": RUNNING,
        "pid": pid,
        "pid_started": start_ticks(pid),
        "started": now_iso(),
        **details,
    }


def write_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    """Replace the run's summary.json at once, so a reader never sees half of one."""
    temporary = run_dir / f".{SUMMARY_FILE}.tmp"
    temporary.write_text(json.dumps(summary, indent=2) + "\n")
    temporary.replace(run_dir / SUMMARY_FILE)


@dataclass(frozen=True)
class RunRecord:
    """One run as read back from its directory."""

    run_dir: Path
    summary: dict[str, Any]

    @property
    def command(self) -> str:
        command = self.summary.get("command")
        if isinstance(command, str):
            return command
        match = _STAMP.fullmatch(self.run_dir.name)
        return match.group(2) if match else self.run_dir.name

    @property
    def started(self) -> datetime | None:
        text = self.summary.get("started")
        if isinstance(text, str):
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                pass
        match = _STAMP.fullmatch(self.run_dir.name)
        if match is None:
            return None
        return datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=UTC)

    @property
    def outcome(self) -> str:
        """The outcome; "running" only while its controller still runs, else interrupted."""
        outcome = self.summary.get("outcome")
        if outcome is None:  # written before outcomes were recorded
            return SUCCEEDED if self.summary.get("succeeded") else FAILED
        if outcome == RUNNING:
            pid = self.summary.get("pid")
            started = self.summary.get("pid_started")
            alive = isinstance(pid, int) and is_running(pid, started)
            return RUNNING if alive else INTERRUPTED
        return str(outcome)

    @property
    def elapsed_s(self) -> float | None:
        value = self.summary.get("elapsed_s")
        return float(value) if isinstance(value, int | float) else None

    def host_counts(self) -> tuple[int, int]:
        """(hosts with a change, hosts that failed or were unreachable)."""
        hosts = self.summary.get("hosts") or {}
        changed = sum(1 for stats in hosts.values() if stats.get("changed"))
        failed = sum(
            1 for stats in hosts.values() if stats.get("failed") or stats.get("unreachable")
        )
        return changed, failed


def read_record(run_dir: Path) -> RunRecord | None:
    """The run in `run_dir`, or None when it has no readable summary."""
    try:
        summary = json.loads((run_dir / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        return None
    return RunRecord(run_dir, summary) if isinstance(summary, dict) else None


def inventory_dir(inventory: Path) -> Path:
    """The inventory directory, whether `-i` named it or its hosts file."""
    return (inventory if inventory.is_dir() else inventory.parent).resolve()


def _same_inventory(summary: dict[str, Any], inventory: Path) -> bool:
    wanted = str(inventory_dir(inventory))
    if "inventory_dir" in summary:
        return bool(summary["inventory_dir"] == wanted)
    recorded = summary.get("inventory")  # summaries written before inventory_dir was
    if not isinstance(recorded, str):
        return False
    if recorded == str(inventory.resolve()):
        return True
    return Path(recorded).exists() and str(inventory_dir(Path(recorded))) == wanted


def runs_of(inventory: Path, include_probes: bool = True) -> list[RunRecord]:
    """The recorded runs against this inventory, newest first."""
    records = []
    directory = runs_dir()
    for run_dir in directory.iterdir() if directory.is_dir() else ():
        record = read_record(run_dir)
        if record is None or not _same_inventory(record.summary, inventory):
            continue
        if include_probes or record.command not in PROBE_COMMANDS:
            records.append(record)
    oldest = datetime.min.replace(tzinfo=UTC)
    records.sort(key=lambda record: (record.started or oldest, record.run_dir.name), reverse=True)
    return records
