"""`gpucluster status`: is every node up and healthy, and how did the last install end?

Live state comes from one read-only command per node; the last install's
verdict comes from the newest install run directory for this inventory.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gpucluster import paths
from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from gpucluster.commands.common import inventory_path, load_or_report
from gpucluster.run_result import SUMMARY_FILE
from gpucluster.runner import RunRequest, run_playbook

PLAYBOOK = "status.yml"
REPORT_TASK = "Report node status"
"""The playbook's task whose results the report is made of (a unit test ties the two)."""


def last_install(inventory: Path) -> dict[str, Any] | None:
    """The summary of the newest install run against this inventory, if any."""
    runs = sorted((paths.state_dir() / "runs").glob("*-install*"), reverse=True)
    wanted = str(inventory.resolve())
    for run_dir in runs:
        summary_file = run_dir / SUMMARY_FILE
        if not summary_file.exists():
            continue
        summary = json.loads(summary_file.read_text())
        if summary.get("inventory") == wanted:
            summary["run_dir"] = str(run_dir)
            return summary
    return None


def _uptime(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    return f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"


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
    for column in ("node", "group", "up", "uptime", "systemd", "failed units"):
        table.add_column(column)
    unhealthy: list[str] = []
    for node in cluster.nodes:
        raw = reports.get(node.name)
        if raw is None:
            unhealthy.append(node.name)
            table.add_row(node.name, node.group, "[red]no[/]", "-", "-", "-")
            continue
        report = json.loads(raw.get("stdout", "{}"))
        if report["systemd"] != "running" or report["failed_units"]:
            unhealthy.append(node.name)
        table.add_row(
            node.name,
            node.group,
            "[green]yes[/]",
            _uptime(int(report["uptime_s"])),
            report["systemd"],
            report["failed_units"] or "-",
        )
    console.print(table)
    previous = last_install(path)
    if previous is None:
        console.print("last install: none recorded for this inventory")
    else:
        verdict = "succeeded" if previous["succeeded"] else "FAILED"
        console.print(
            f"last install: {verdict}, {previous['changed_total']} changed task(s), "
            f"{previous['elapsed_s']} s ({previous['run_dir']})"
        )
    if unhealthy:
        console.print(f"[bold red]not healthy:[/] {', '.join(unhealthy)}")
        return EXIT_FAILED
    console.print("[green]all nodes up and healthy[/]")
    return EXIT_OK
