"""Pieces every command shares: loading the inventory, running a playbook."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, EXIT_PARTIAL
from gpucluster.inventory import Cluster, load_cluster
from gpucluster.inventory.problems import InventoryError
from gpucluster.progress import ProgressPrinter, render_summary
from gpucluster.run_result import PARTIAL, SUCCEEDED, RunResult
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


def with_run_options(
    request: RunRequest, args: argparse.Namespace, *, run_for: str | None = None
) -> RunRequest:
    """The request with the command line's --limit, --check and --diff applied.

    `run_for` names the node a run exists for (add-node's, replace-node's): a limit narrows
    which other nodes take part, never that one.
    """
    limit = f"{run_for},{args.limit}" if args.limit and run_for else args.limit
    return dataclasses.replace(
        request, limit=limit or request.limit, check=args.check, diff=args.diff
    )


def refuse_dry_run_before_the_edit(console: Console, unchanged: str) -> int:
    """--check on an edit verb whose edit is not in the inventory yet: say how, change nothing."""
    console.print(
        "[bold red]error:[/] --check runs against the inventory as it is, and this change is "
        "not in it yet: make the edit first (the same command with --edit-only), then repeat "
        "it with --check",
        soft_wrap=True,
    )
    console.print(unchanged)
    return EXIT_BAD_INPUT


def run_with_progress(console: Console, title: str, request: RunRequest) -> RunResult:
    """Run a playbook, printing progress as it goes and the summary at the end."""
    console.print(f"[bold]{title}[/]: playbooks/{request.playbook} on {request.inventory}")
    result = run_playbook(request, ProgressPrinter(console))
    render_summary(console, title, result, request.catch_up_command())
    return result


def exit_code(result: RunResult) -> int:
    """0 succeeded, 3 partial (the job is done, other nodes lag), 1 anything else."""
    outcome = result.outcome or (SUCCEEDED if result.succeeded else "")
    if outcome == SUCCEEDED:
        return EXIT_OK
    return EXIT_PARTIAL if outcome == PARTIAL else EXIT_FAILED


def edit_then_run(
    console: Console,
    edit: Callable[[], object],
    done: str,
    request: RunRequest | None,
    *,
    in_place: Callable[[], str | None] | None = None,
) -> int:
    """Apply an inventory edit; on success run the playbook that follows from it.

    A rejected edit prints its problems and leaves the file as it was (the
    edit functions validate before they write); request None stops after it.

    A dry run (request.check) needs the edit in place already: it never writes the inventory.

    `in_place` makes the command resumable: it returns a message when the inventory already
    holds exactly this edit (a repeat after a failed or interrupted run), which then goes
    straight to the run; it raises InventoryError, naming the field, for a conflicting one.
    """
    try:
        already = in_place() if in_place is not None else None
        if already is None and request is not None and request.check:
            return refuse_dry_run_before_the_edit(console, "inventory left unchanged")
        if already is None:
            edit()
    except InventoryError as error:
        print_problems(console, error)
        console.print("inventory left unchanged")
        return EXIT_BAD_INPUT
    if already is not None:
        suffix = "nothing to edit" if request is None else "nothing to edit, running it again"
        console.print(f"{escape(already)}: {suffix}", soft_wrap=True)
    else:
        console.print(done)
    if request is None:
        return EXIT_OK
    return exit_code(run_with_progress(console, request.command_name, request))
