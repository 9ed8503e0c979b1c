"""Run a playbook with ansible-runner, stream its progress, keep its artifacts.

Each run gets its own directory under the state dir (ansible-runner's private
data dir), so the log and the events of every run stay inspectable afterwards.
Nothing secret is written there: env files are suppressed, the environment is
allow-listed, and secrets reach tasks only through 0600 vars files that tasks
read with no_log.

The run's summary is written when it starts and again when it ends (run_record);
Ctrl-C and SIGTERM stop ansible-playbook through ansible-runner's cancel callback
and the run is recorded as interrupted before RunInterrupted is raised.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_runner.interface import init_runner

from gpucluster import ara_recorder, lagging, orphan_guard, paths
from gpucluster.interrupts import GracefulStop, RunInterrupted, signals_noted
from gpucluster.run_environment import base_environment, clean_environment
from gpucluster.run_record import (
    PROBE_COMMANDS,
    new_run_dir,
    now_iso,
    starting_summary,
    write_summary,
)
from gpucluster.run_result import (
    FAILED,
    INTERRUPTED,
    HostStats,
    RunResult,
    TaskOutcome,
    host_stats_from_event,
)

OUTCOME_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}

ProgressCallback = Callable[[TaskOutcome], None]
MITOGEN_SWITCH = "GPUCLUSTER_MITOGEN"


@dataclass
class RunRequest:
    """What to run, against which inventory, and how."""

    playbook: str
    inventory: Path
    command_name: str
    limit: str | None = None
    check: bool = False
    diff: bool = False
    extravars: dict[str, Any] = field(default_factory=dict)
    capture_results_of: frozenset[str] = frozenset()
    forks: int = 25
    # The hosts the run is for (add-node: the new nodes). When they all succeed and only
    # other hosts fail, the run is partial, not failed (RunResult.judge).
    must_succeed_on: frozenset[str] | None = None
    # The command that catches a lagging node up, `{hosts}` standing for its name; by default
    # an install limited to it.
    catch_up: str = ""

    def catch_up_command(self) -> str:
        return self.catch_up or f"gpucluster install --limit {{hosts}} -i {self.inventory}"


def fact_cache_dir(inventory: Path) -> Path:
    """Facts are cached per inventory, so two clusters with the same host names never mix."""
    key = hashlib.sha256(str(inventory.resolve()).encode()).hexdigest()[:12]
    return paths.state_dir() / "facts" / key


def ansible_environment(inventory: Path) -> dict[str, str]:
    """The environment a run starts with: allow-listed shell env plus project settings."""
    root = paths.project_root()
    env = base_environment()
    # ansible-playbook lives next to this interpreter (a virtualenv need not be activated).
    tool_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([tool_dir, env.get("PATH", os.defpath)])
    env.update(
        {
            "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
            "ANSIBLE_ROLES_PATH": str(root / "roles"),
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(fact_cache_dir(inventory)),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(paths.state_dir() / "cp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
        }
    )
    if not mitogen_enabled():
        env["ANSIBLE_STRATEGY"] = "linear"
    return env


def mitogen_enabled() -> bool:
    """ansible.cfg runs the mitogen strategy; GPUCLUSTER_MITOGEN=0 falls back to `linear`
    (for a node whose Python mitogen cannot drive, or to compare timings)."""
    return os.environ.get(MITOGEN_SWITCH, "1").strip().lower() not in ("0", "no", "false", "off")


def _outcome_from_event(event: dict[str, Any], capture: frozenset[str]) -> TaskOutcome | None:
    status = OUTCOME_EVENTS.get(event.get("event", ""))
    if status is None:
        return None
    data = event.get("event_data", {})
    res = data.get("res") or {}
    if status == "ok" and res.get("changed"):
        status = "changed"
    if data.get("ignore_errors") and status == "failed":
        status = "ok"
    task = str(data.get("task", ""))
    message = ""
    if status in ("failed", "unreachable"):
        message = str(res.get("msg") or res.get("stderr") or "").strip()
    return TaskOutcome(
        host=str(data.get("host", "")),
        play=str(data.get("play", "")),
        task=task,
        role=str(data.get("role", "") or ""),
        status=status,
        message=message,
        result=res if task in capture else None,
    )


def _stats_from_outcomes(outcomes: list[TaskOutcome]) -> dict[str, HostStats]:
    """Per-host counters from the task events, for a run that ended before Ansible's own."""
    stats: dict[str, HostStats] = {}
    fields = {"ok": "ok", "changed": "changed", "failed": "failed", "skipped": "skipped"}
    for outcome in outcomes:
        host = stats.setdefault(outcome.host, HostStats())
        if outcome.status == "unreachable":
            host.unreachable += 1
        elif outcome.status in fields:
            setattr(host, fields[outcome.status], getattr(host, fields[outcome.status]) + 1)
    return stats


def run_playbook(request: RunRequest, progress: ProgressCallback | None = None) -> RunResult:
    """Run one playbook to completion and report how every host fared.

    Raises RunInterrupted (after recording the run) when SIGINT or SIGTERM stopped it.
    """
    run_dir = new_run_dir(request.command_name)
    started_at = now_iso()
    summary = starting_summary(
        request.command_name,
        request.inventory,
        playbook=request.playbook,
        limit=request.limit,
        check=request.check,
    )
    write_summary(run_dir, summary)
    outcomes: list[TaskOutcome] = []
    final_stats: dict[str, Any] = {}

    broken_off = False

    def on_event(event: dict[str, Any]) -> bool:
        nonlocal broken_off
        if event.get("event") == "playbook_on_stats":
            final_stats.update(event.get("event_data", {}))
            return True
        if event.get("event") == "playbook_on_no_hosts_remaining":
            broken_off = True  # Ansible stops the whole playbook here
            return True
        outcome = _outcome_from_event(event, request.capture_results_of)
        if outcome is not None:
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
        return True

    started = time.monotonic()
    with signals_noted() as interrupt:
        try:
            runner = _prepared_runner(request, run_dir, on_event, GracefulStop(interrupt))
            runner.run()
        except BaseException as error:
            # ansible-runner itself broke: the run is over, and says so.
            summary.update(outcome=FAILED, error=str(error) or type(error).__name__)
            summary.update(ended=now_iso())
            write_summary(run_dir, summary)
            raise
    elapsed = time.monotonic() - started
    result = RunResult(
        run_dir=run_dir,
        status="canceled" if interrupt.requested() else str(runner.status),
        rc=int(runner.rc if runner.rc is not None else 1),
        elapsed_s=elapsed,
        hosts=host_stats_from_event(final_stats) if final_stats else {},
        outcomes=outcomes,
        broken_off=broken_off,
    )
    if not result.hosts and result.status == "canceled":
        result.hosts = _stats_from_outcomes(outcomes)
    result.judge(request.must_succeed_on)
    summary.update(result.to_summary(request.command_name, request.inventory))
    summary.update(ended=now_iso())
    write_summary(run_dir, summary)
    # An interrupted run proves nothing about the hosts it had not finished with.
    if result.outcome != INTERRUPTED and not request.check and not _probe(request):
        lagging.record(
            request.inventory,
            result,
            playbook=request.playbook,
            command=request.command_name,
            started=started_at,
            catch_up=request.catch_up_command(),
        )
    if interrupt.signum is not None:
        raise RunInterrupted(run_dir, interrupt.signum)
    return result


def _probe(request: RunRequest) -> bool:
    """A run that only looks at the nodes: it neither clears nor records lagging nodes."""
    return request.command_name in PROBE_COMMANDS


def _prepared_runner(
    request: RunRequest,
    run_dir: Path,
    on_event: Callable[[dict[str, Any]], bool],
    cancelled: Callable[[], bool],
) -> Any:
    """ansible-runner's Runner for the request, with the allow-listed environment."""
    cmdline = " ".join(
        flag for flag, on in (("--check", request.check), ("--diff", request.diff)) if on
    )
    runner = init_runner(
        private_data_dir=str(run_dir),
        project_dir=str(paths.project_root()),
        playbook=str(paths.playbook(request.playbook)),
        inventory=str(request.inventory.resolve()),
        limit=request.limit,
        extravars=request.extravars or None,
        cmdline=cmdline or None,
        event_handler=on_event,
        cancel_callback=cancelled,
        suppress_env_files=True,
        quiet=True,
        forks=request.forks,
    )
    # ansible-runner seeds the job's environment from os.environ and records it
    # in artifacts/<id>/command; replace it with the allow-listed one.
    job_env = ansible_environment(request.inventory)
    added_by_runner = {
        name: value
        for name, value in runner.config.env.items()
        if os.environ.get(name) != value and name not in job_env
    }
    job_env.update(clean_environment(added_by_runner))
    if not _probe(request):
        job_env.update(ara_recorder.environment(request.inventory, job_env))
    runner.config.env = job_env
    # ansible-playbook stops (SIGINT) if this process dies without stopping it (orphan_guard).
    runner.config.command = [sys.executable, orphan_guard.__file__, *runner.config.command]
    # How often (seconds) ansible-runner asks cancel_callback while the output is quiet
    # (its default, 5, makes Ctrl-C feel ignored).
    runner.config.pexpect_timeout = 1
    return runner
