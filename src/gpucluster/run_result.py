"""What an Ansible run produced, decided from Ansible's own final statistics.

The outcome comes from the `playbook_on_stats` event, not from counting
failure events: a task that failed inside a block and was rescued still emits a
failure event, yet the host is fine.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SUMMARY_FILE = "summary.json"
_RUN_DIR_LINE = re.compile(r"run directory: (\S+)")

STAT_KEYS = ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")


@dataclass
class HostStats:
    """Per-host counters as Ansible reports them at the end of a run."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    @property
    def healthy(self) -> bool:
        return self.failed == 0 and self.unreachable == 0


@dataclass
class TaskOutcome:
    """One task's result on one host, as streamed while the run goes on."""

    host: str
    play: str
    task: str
    role: str
    status: str  # ok, changed, failed, unreachable, skipped
    message: str = ""
    result: dict[str, Any] | None = None  # kept only for tasks the caller asked for


@dataclass
class RunResult:
    """Everything the CLI needs after a run: outcome, counters, where the logs are."""

    run_dir: Path
    status: str
    rc: int
    elapsed_s: float
    hosts: dict[str, HostStats] = field(default_factory=dict)
    outcomes: list[TaskOutcome] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return (
            self.status == "successful"
            and self.rc == 0
            and all(stats.healthy for stats in self.hosts.values())
        )

    @property
    def changed_total(self) -> int:
        return sum(stats.changed for stats in self.hosts.values())

    def failed_hosts(self) -> list[str]:
        return sorted(name for name, stats in self.hosts.items() if not stats.healthy)

    def to_summary(self, command: str, inventory: Path) -> dict[str, Any]:
        """The machine-readable record kept as summary.json in the run directory."""
        tasks: dict[str, list[dict[str, str]]] = {}
        for outcome in self.outcomes:
            tasks.setdefault(outcome.host, []).append(
                {
                    "play": outcome.play,
                    "role": outcome.role,
                    "task": outcome.task,
                    "status": outcome.status,
                }
            )
        return {
            "command": command,
            "inventory": str(inventory.resolve()),
            "status": self.status,
            "rc": self.rc,
            "succeeded": self.succeeded,
            "elapsed_s": round(self.elapsed_s, 2),
            "changed_total": self.changed_total,
            "hosts": {name: asdict(stats) for name, stats in self.hosts.items()},
            "tasks": tasks,
        }

    def results_of(self, task: str) -> dict[str, dict[str, Any]]:
        """The captured results of one task, per host."""
        return {o.host: o.result for o in self.outcomes if o.task == task and o.result is not None}


def host_stats_from_event(event_data: dict[str, Any]) -> dict[str, HostStats]:
    """Turn a playbook_on_stats event into per-host counters."""
    names: set[str] = set()
    for key in STAT_KEYS:
        names.update((event_data.get(key) or {}).keys())
    stats: dict[str, HostStats] = {}
    for name in sorted(names):

        def count(key: str, host: str = name) -> int:
            return int((event_data.get(key) or {}).get(host, 0))

        stats[name] = HostStats(
            ok=count("ok"),
            changed=count("changed"),
            failed=count("failures"),
            unreachable=count("dark"),
            skipped=count("skipped"),
            rescued=count("rescued"),
            ignored=count("ignored"),
        )
    return stats


def summary_named_in(output: str) -> dict[str, Any] | None:
    """The summary.json of the run whose directory a CLI output names, if any.

    Scripts and tests drive the real CLI and read its verdict this way.
    """
    match = _RUN_DIR_LINE.search(output)
    if match is None:
        return None
    path = Path(match.group(1)) / SUMMARY_FILE
    return json.loads(path.read_text()) if path.exists() else None
