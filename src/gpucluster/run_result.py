"""What an Ansible run produced, decided from Ansible's own final statistics.

The outcome comes from the `playbook_on_stats` event, not from counting
failure events: a task that failed inside a block and was rescued still emits a
failure event, yet the host is fine.

A run ends one of four ways (OUTCOMES). "partial" is a run that did its job on the hosts it
was for, while other hosts could not follow: an existing node unreachable during add-node, or
some nodes unreachable during an install or a people change while the rest converged. Those
hosts lag; the summary says where each one stopped so the operator can catch it up.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SUMMARY_FILE = "summary.json"

RUNNING = "running"
SUCCEEDED = "succeeded"
PARTIAL = "partial"
FAILED = "failed"
INTERRUPTED = "interrupted"
OUTCOMES = (SUCCEEDED, PARTIAL, FAILED, INTERRUPTED)
# ansible-playbook's exit codes when hosts failed (2) or were unreachable (4); anything else
# is an error of the run itself (a parse error, a play broken off) and never "partial".
_HOST_FAILURE_RCS = frozenset({2, 4})
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


@dataclass(frozen=True)
class Lagging:
    """A host a run did not finish with: where it stopped and why."""

    host: str
    status: str  # failed or unreachable
    play: str = ""
    task: str = ""  # "role : task" when the task belongs to a role
    message: str = ""

    def describe(self) -> str:
        """One line: what the host missed, in the words of the playbook."""
        if not self.play:
            return f"{self.host}: {self.status}; it missed this run"
        at = f" at {self.task!r}" if self.task else ""
        return (
            f"{self.host}: {self.status} in play {self.play!r}{at}; it missed the rest of "
            "that play and every later play for it"
        )


@dataclass
class RunResult:
    """Everything the CLI needs after a run: outcome, counters, where the logs are."""

    run_dir: Path
    status: str
    rc: int
    elapsed_s: float
    hosts: dict[str, HostStats] = field(default_factory=dict)
    outcomes: list[TaskOutcome] = field(default_factory=list)
    outcome: str = ""  # one of OUTCOMES, set by judge(); "" until then
    # Every host of some play failed, which makes Ansible skip the rest of the playbook for
    # all hosts: the hosts that look fine never ran the later plays.
    broken_off: bool = False

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

    def judge(self, must_succeed_on: frozenset[str] | None = None) -> str:
        """Decide (and keep) the run's outcome.

        `must_succeed_on` names the hosts the run is for (add-node: the new nodes): the run
        is partial when all of them (and the controller's own plays) succeeded and only other
        hosts failed or were unreachable. Without it, a run is partial when the hosts that did
        not succeed were all unreachable (none failed a task) and at least one host converged.
        """
        self.outcome = self._outcome(must_succeed_on)
        return self.outcome

    def _outcome(self, must_succeed_on: frozenset[str] | None) -> str:
        if self.status == "canceled":
            return INTERRUPTED
        if self.succeeded:
            return SUCCEEDED
        if self.broken_off or self._last_play_failed_everywhere():
            return FAILED
        unhealthy = self.failed_hosts()
        healthy = [name for name in self.hosts if name not in unhealthy]
        if not unhealthy or self.rc not in _HOST_FAILURE_RCS:
            return FAILED
        if must_succeed_on is not None:
            needed = set(must_succeed_on) | ({"localhost"} & set(self.hosts))
            done = all(name in self.hosts and self.hosts[name].healthy for name in needed)
            return PARTIAL if done else FAILED
        only_unreachable = all(self.hosts[name].failed == 0 for name in unhealthy)
        return PARTIAL if only_unreachable and healthy else FAILED

    def _last_play_failed_everywhere(self) -> bool:
        """True when every host of the last play that ran stopped failed or unreachable in it.

        Ansible then skips the rest of the playbook for every host, and may not say so
        (no "no hosts remaining" event when the hosts were unreachable). If that play really
        was the playbook's last, the run is judged failed rather than partial: the safe side.
        """
        plays = [outcome.play for outcome in self.outcomes]
        if not plays:
            return False
        last = [outcome for outcome in self.outcomes if outcome.play == plays[-1]]
        final: dict[str, str] = {}
        for outcome in last:
            final[outcome.host] = outcome.status  # a rescued host goes on to other tasks
        return all(status in ("failed", "unreachable") for status in final.values())

    def lagging(self) -> list[Lagging]:
        """Every host that did not succeed, with the first task where it failed or dropped."""
        found: dict[str, Lagging] = {}
        for outcome in self.outcomes:
            if outcome.status not in ("failed", "unreachable") or outcome.host in found:
                continue
            task = f"{outcome.role} : {outcome.task}" if outcome.role else outcome.task
            found[outcome.host] = Lagging(
                outcome.host, outcome.status, outcome.play, task, outcome.message
            )
        lagging = []
        for name in self.failed_hosts():
            status = "unreachable" if self.hosts[name].unreachable else "failed"
            lagging.append(found.get(name, Lagging(name, status)))
        return lagging

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
            "outcome": self.outcome or (SUCCEEDED if self.succeeded else FAILED),
            "lagging": {entry.host: asdict(entry) for entry in self.lagging()},
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
