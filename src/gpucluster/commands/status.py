"""`gpucluster status`: is every node up and healthy, how did the last runs end, what lags?

Live state comes from one read-only command per node; the verdicts come from the run
records of this inventory (a run whose controller died shows as interrupted), and the
lagging nodes from what partial or failed runs recorded (lagging). It takes no lock: it
only reads, and it answers during a long install, naming the command in progress.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gpucluster import lagging
from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, EXIT_PARTIAL
from gpucluster.commands.common import inventory_path, load_or_report
from gpucluster.inventory import Cluster
from gpucluster.lock import current_holders
from gpucluster.run_record import RunRecord, local_time, runs_of
from gpucluster.runner import RunRequest, run_playbook

PLAYBOOK = "status.yml"
REPORT_TASK = "Report node status"
"""The playbook's task whose results the report is made of (a unit test ties the two)."""


def last_install(inventory: Path) -> dict[str, Any] | None:
    """The summary of the newest install run against this inventory, if any.

    Its "outcome" is the real one: "interrupted" for a run whose controller died.
    """
    for record in runs_of(inventory):
        if record.command == "install":
            return _with_outcome(record)
    return None


def last_run(inventory: Path) -> dict[str, Any] | None:
    """The summary of the newest run that changes something (not status or check)."""
    records = runs_of(inventory, include_probes=False)
    return _with_outcome(records[0]) if records else None


def _with_outcome(record: RunRecord) -> dict[str, Any]:
    summary = dict(record.summary)
    summary.update(run_dir=str(record.run_dir), outcome=record.outcome, command=record.command)
    return summary


def describe_run(summary: dict[str, Any]) -> str:
    """One line: command, outcome, when, how long, changes, where its files are."""
    parts = [f"{summary['command']}: {summary['outcome']}"]
    parts.append(f"started {local_time(summary.get('started'))}")
    if summary.get("elapsed_s") is not None:
        parts.append(f"{summary['elapsed_s']} s")
    if summary.get("changed_total") is not None:
        parts.append(f"{summary['changed_total']} changed task(s)")
    return f"{', '.join(parts)} ({summary['run_dir']})"


def _uptime(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    return f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"


def _report_of(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """The node's own report, or None where there is none to read: a node unreachable when
    the task ran has a result without the script's output."""
    try:
        report = json.loads((raw or {}).get("stdout") or "")
    except ValueError:
        return None
    keys = ("systemd", "failed_units", "uptime_s")
    return report if isinstance(report, dict) and all(k in report for k in keys) else None


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    cluster = load_or_report(path, console)
    if cluster is None:
        return EXIT_BAD_INPUT
    request = RunRequest(
        playbook=PLAYBOOK,
        inventory=path,
        command_name="status",
        capture_results_of=frozenset({REPORT_TASK}),
    )
    result = run_playbook(request)
    reports = result.results_of(REPORT_TASK)
    table = Table(title="status", title_justify="left")
    for column in ("node", "group", "up", "uptime", "systemd", "failed units", "left to the roll"):
        table.add_column(column)
    unhealthy: list[str] = []
    rolling: list[str] = []
    for node in cluster.nodes:
        report = _report_of(reports.get(node.name))
        if report is None:
            unhealthy.append(node.name)
            table.add_row(node.name, node.group, "[red]no[/]", "-", "-", "-", "-")
            continue
        if report["systemd"] != "running" or report["failed_units"]:
            unhealthy.append(node.name)
        if report.get("roll_pending"):
            rolling.append(node.name)
        table.add_row(
            node.name,
            node.group,
            "[green]yes[/]",
            _uptime(int(report["uptime_s"])),
            report["systemd"],
            report["failed_units"] or "-",
            report.get("roll_pending") or "-",
        )
    console.print(table)
    _print_records(console, path)
    behind = _print_lagging(console, path, cluster)
    if rolling:
        # A roll stopped by a failure (or a run cut short) left these on the old runtime.
        console.print(
            f"[yellow]left to the roll:[/] {', '.join(rolling)}: the next install restarts "
            f"them one batch at a time (gpucluster install --limit {','.join(rolling)} -i {path})",
            soft_wrap=True,
        )
        behind = True
    if unhealthy:
        console.print(f"[bold red]not healthy:[/] {', '.join(unhealthy)}")
        return EXIT_FAILED
    if behind:
        console.print("[yellow]all nodes up and healthy; some lag (see above)[/]")
        return EXIT_PARTIAL
    console.print("[green]all nodes up and healthy[/]")
    return EXIT_OK


def _print_records(console: Console, path: Path) -> None:
    """Who holds the lock now, the last run and the last install, with real outcomes."""
    for holder in current_holders(path):
        console.print(f"in progress: {escape(holder.describe())}", soft_wrap=True)
    for label, summary in (("last run", last_run(path)), ("last install", last_install(path))):
        if summary is None:
            console.print(f"{label}: none recorded for this inventory")
        else:
            console.print(f"{label}: {escape(describe_run(summary))}", soft_wrap=True)


def _print_lagging(console: Console, path: Path, cluster: Cluster) -> bool:
    """The nodes recorded as lagging (those still in the inventory); True when any."""
    found = lagging.entries(path, {node.name for node in cluster.nodes})
    if not found:
        return False
    table = Table(title="lagging nodes", title_justify="left")
    for column in ("node", "since", "left behind by", "what it missed", "catch up with"):
        table.add_column(column, overflow="fold")
    for entry in found:
        table.add_row(
            entry.host, local_time(entry.since), entry.command, entry.missed, entry.catch_up
        )
    console.print(table)
    return True
