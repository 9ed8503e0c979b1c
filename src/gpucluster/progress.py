"""Live progress and the end-of-run summary an operator reads.

One line per task result as it happens (dimmed when nothing changed), then a
per-host table. Works the same on a terminal and in a CI log.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gpucluster.run_result import (
    FAILED,
    INTERRUPTED,
    PARTIAL,
    SUCCEEDED,
    RunResult,
    TaskOutcome,
)

STATUS_STYLE = {
    "ok": "green",
    "changed": "yellow",
    "failed": "bold red",
    "unreachable": "bold red",
    "skipped": "cyan",
}

VERDICT = {
    SUCCEEDED: "[green]succeeded[/]",
    PARTIAL: "[bold yellow]PARTIAL[/]",
    FAILED: "[bold red]FAILED[/]",
    INTERRUPTED: "[bold red]INTERRUPTED[/]",
}


class ProgressPrinter:
    """Prints each task outcome as ansible-runner streams it."""

    def __init__(self, console: Console, show_ok: bool = True) -> None:
        self._console = console
        self._show_ok = show_ok
        self._started = time.monotonic()
        self._width = 12

    def __call__(self, outcome: TaskOutcome) -> None:
        if outcome.status in ("ok", "skipped") and not self._show_ok:
            return
        self._width = max(self._width, len(outcome.host))
        elapsed = time.monotonic() - self._started
        style = STATUS_STYLE.get(outcome.status, "")
        task = f"{outcome.role} : {outcome.task}" if outcome.role else outcome.task
        line = (
            f"[dim]{elapsed:6.1f}s[/] {outcome.host:<{self._width}} "
            f"[{style}]{outcome.status:<11}[/] {task}"
        )
        if outcome.status in ("ok", "skipped"):
            line = f"[dim]{line}[/]"
        self._console.print(line, highlight=False, soft_wrap=True)
        if outcome.message:
            self._console.print(f"    [red]{outcome.message}[/]", highlight=False, markup=True)


def render_summary(console: Console, title: str, result: RunResult, catch_up: str = "") -> None:
    """The per-host table, the verdict, each lagging node, and where the run's files are.

    `catch_up` is the command that brings a lagging node up to date (`{hosts}` for names).
    """
    table = Table(title=title, title_justify="left")
    for column in ("host", "ok", "changed", "failed", "unreachable", "skipped", "rescued"):
        table.add_column(column, justify="left" if column == "host" else "right")
    for host, stats in sorted(result.hosts.items()):
        marker = "" if stats.healthy else " [bold red]✗[/]"
        table.add_row(
            f"{host}{marker}",
            str(stats.ok),
            str(stats.changed),
            str(stats.failed),
            str(stats.unreachable),
            str(stats.skipped),
            str(stats.rescued),
        )
    console.print(table)
    outcome = result.outcome or (SUCCEEDED if result.succeeded else FAILED)
    console.print(
        f"{title}: {VERDICT.get(outcome, outcome)} in {result.elapsed_s:.1f}s, "
        f"{result.changed_total} changed task(s) on {len(result.hosts)} host(s)"
    )
    if result.failed_hosts():
        console.print(f"failed or unreachable: {', '.join(result.failed_hosts())}")
    lagging = result.lagging()
    if outcome == PARTIAL and lagging:
        console.print(
            "[yellow]done where it had to be; these nodes lag[/] "
            "(`gpucluster status` lists them until a run catches them up):"
        )
    for entry in lagging:
        console.print(f"  {escape(entry.describe())}", soft_wrap=True)
        if entry.message:
            console.print(f"    [red]{escape(entry.message)}[/]", soft_wrap=True)
    if lagging and catch_up:
        hosts = ",".join(entry.host for entry in lagging)
        console.print(f"catch up: {escape(catch_up.format(hosts=hosts))}", soft_wrap=True)
    console.print(f"run directory: {result.run_dir}")
