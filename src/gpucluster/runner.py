"""Run a playbook with ansible-runner, stream its progress, keep its artifacts.

Each run gets its own directory under the state dir (ansible-runner's private
data dir), so the log and the events of every run stay inspectable afterwards.
Nothing secret is written there: env files are suppressed, the environment is
allow-listed, and secrets reach tasks only through 0600 vars files that tasks
read with no_log.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ansible_runner.interface import init_runner

from gpucluster import paths
from gpucluster.run_environment import base_environment, clean_environment
from gpucluster.run_result import (
    SUMMARY_FILE,
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


def new_run_dir(command_name: str) -> Path:
    """A fresh, uniquely named directory for one run's log and artifacts."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    runs = paths.state_dir() / "runs"
    for attempt in range(1000):
        suffix = f"-{attempt}" if attempt else ""
        candidate = runs / f"{stamp}-{command_name}{suffix}"
        try:
            candidate.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            continue
        return candidate
    raise RuntimeError(f"cannot create a run directory under {runs}")


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


def run_playbook(request: RunRequest, progress: ProgressCallback | None = None) -> RunResult:
    """Run one playbook to completion and report how every host fared."""
    run_dir = new_run_dir(request.command_name)
    outcomes: list[TaskOutcome] = []
    final_stats: dict[str, Any] = {}

    def on_event(event: dict[str, Any]) -> bool:
        if event.get("event") == "playbook_on_stats":
            final_stats.update(event.get("event_data", {}))
            return True
        outcome = _outcome_from_event(event, request.capture_results_of)
        if outcome is not None:
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
        return True

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
    runner.config.env = job_env
    started = time.monotonic()
    runner.run()
    elapsed = time.monotonic() - started
    result = RunResult(
        run_dir=run_dir,
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else 1),
        elapsed_s=elapsed,
        hosts=host_stats_from_event(final_stats),
        outcomes=outcomes,
    )
    summary = json.dumps(result.to_summary(request.command_name, request.inventory), indent=2)
    (run_dir / SUMMARY_FILE).write_text(summary + "\n")
    return result
