"""`gpucluster check`: is the inventory sound, and is every node ready?

Offline, only the inventory is validated. Online, every node is asked (over
the same SSH connection an install uses) for its OS, Python, NVIDIA GPUs and
storage NIC; the verdict is 0 only when every node answered and has its NIC.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from gpucluster.commands.common import inventory_path, load_or_report
from gpucluster.inventory import Cluster
from gpucluster.progress import ProgressPrinter
from gpucluster.run_result import RunResult
from gpucluster.runner import RunRequest, run_playbook
from gpucluster.secrets_tracking import SECRETS_DIR_NAME, tracked_secret_files

PLAYBOOK = "preflight.yml"
REPORT_TASK = "Report preflight"
"""The playbook's task whose results the report is made of (a unit test ties the two)."""


def _problem_of(host: str, result: RunResult) -> str:
    for outcome in result.outcomes:
        if outcome.host == host and outcome.status in ("failed", "unreachable"):
            return f"{outcome.status}: {outcome.message}"
    return ""


def render_report(console: Console, cluster: Cluster, result: RunResult) -> list[str]:
    """Print the per-node table; return the names of nodes that are not ready."""
    reports: dict[str, dict[str, Any]] = {
        host: res.get("msg", {}) for host, res in result.results_of(REPORT_TASK).items()
    }
    table = Table(title="preflight", title_justify="left")
    for column in ("node", "group", "OS", "Python", "NVIDIA GPUs", "storage NIC", "problem"):
        table.add_column(column)
    not_ready: list[str] = []
    for node in cluster.nodes:
        report = reports.get(node.name)
        if report is None:
            not_ready.append(node.name)
            problem = _problem_of(node.name, result) or "no report"
            table.add_row(node.name, node.group, "-", "-", "-", "-", f"[red]{problem}[/]")
            continue
        gpus = int(report.get("nvidia_gpus", 0))
        note = (
            "[yellow]gpu node without an NVIDIA GPU[/]" if node.group == "gpu" and not gpus else ""
        )
        table.add_row(
            node.name,
            node.group,
            str(report.get("os", "")),
            str(report.get("python", "")),
            str(gpus),
            str(report.get("storage_nic", "")),
            note,
        )
    console.print(table)
    return not_ready


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    cluster = load_or_report(path, console)
    if cluster is None:
        return EXIT_BAD_INPUT
    console.print(f"inventory {path}: {len(cluster.nodes)} nodes, valid")
    inventory_dir = cluster.hosts_file.parent
    tracked = tracked_secret_files(inventory_dir)
    if tracked:
        console.print(
            f"[bold yellow]warning:[/] {inventory_dir / SECRETS_DIR_NAME}: git tracks "
            f"{len(tracked)} secret file(s) ({', '.join(tracked[:3])}): "
            f"`git rm -r --cached {SECRETS_DIR_NAME}`, add it to .gitignore, and change "
            "those passwords: they are in the history",
            soft_wrap=True,
        )
    if args.offline:
        return EXIT_OK
    request = RunRequest(
        playbook=PLAYBOOK,
        inventory=path,
        command_name="check",
        capture_results_of=frozenset({REPORT_TASK}),
    )
    result = run_playbook(request, ProgressPrinter(console, show_ok=False))
    not_ready = render_report(console, cluster, result)
    console.print(f"run directory: {result.run_dir}")
    if not_ready or not result.succeeded:
        console.print(f"[bold red]not ready:[/] {', '.join(not_ready or result.failed_hosts())}")
        return EXIT_FAILED
    console.print("[green]all nodes ready[/]")
    return EXIT_OK
