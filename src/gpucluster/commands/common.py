"""Pieces every command shares: loading the inventory, running a playbook."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from gpucluster.inventory import Cluster, load_cluster
from gpucluster.problems import InventoryError
from gpucluster.progress import ProgressPrinter, render_summary
from gpucluster.run_result import RunResult
from gpucluster.runner import RunRequest, run_playbook

DEFAULT_INVENTORY_ENV = "GPUCLUSTER_INVENTORY"


def inventory_path(given: str | None) -> Path:
    """-i, else $GPUCLUSTER_INVENTORY, else ./inventory."""
    return Path(given or os.environ.get(DEFAULT_INVENTORY_ENV) or "inventory")


def print_problems(console: Console, error: InventoryError) -> None:
    """Each problem on one unwrapped line, so it can be grepped and copied."""
    for problem in error.problems:
        console.print(f"[bold red]error:[/] {escape(str(problem))}", soft_wrap=True)


def load_or_report(path: Path, console: Console) -> Cluster | None:
    """The validated cluster, or None after printing every problem."""
    try:
        return load_cluster(path)
    except InventoryError as error:
        print_problems(console, error)
        return None


def run_with_progress(console: Console, title: str, request: RunRequest) -> RunResult:
    """Run a playbook, printing progress as it goes and the summary at the end."""
    console.print(f"[bold]{title}[/]: playbooks/{request.playbook} on {request.inventory}")
    result = run_playbook(request, ProgressPrinter(console))
    render_summary(console, title, result)
    return result


def edit_then_run(
    console: Console,
    edit: Callable[[], object],
    done: str,
    request: RunRequest | None,
) -> int:
    """Apply an inventory edit; on success run the playbook that follows from it.

    A rejected edit prints its problems and leaves the file as it was (the
    edit functions validate before they write); request None stops after it.
    """
    try:
        edit()
    except InventoryError as error:
        print_problems(console, error)
        console.print("inventory left unchanged")
        return EXIT_BAD_INPUT
    console.print(done)
    if request is None:
        return EXIT_OK
    result = run_with_progress(console, request.command_name, request)
    return EXIT_OK if result.succeeded else EXIT_FAILED
