"""`gpucluster runs`: the run history of an inventory, newest first.

Read from each run's summary.json (run_record), so a run that was interrupted, or whose
controller died, is listed with that outcome. When ARA is installed the same runs are in its
database too, with every task result: the last line says where.
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gpucluster import ara_recorder
from gpucluster.commands import EXIT_OK
from gpucluster.commands.common import inventory_path
from gpucluster.run_record import RunRecord, local_time, runs_of
from gpucluster.run_result import FAILED, INTERRUPTED, PARTIAL, RUNNING, SUCCEEDED

OUTCOME_STYLE = {
    SUCCEEDED: "green",
    PARTIAL: "yellow",
    FAILED: "bold red",
    INTERRUPTED: "bold red",
    RUNNING: "cyan",
}


def _row(record: RunRecord) -> tuple[str, ...]:
    started = record.started
    when = local_time(started.isoformat()) if started else "?"
    elapsed = record.elapsed_s
    changed, failed = record.host_counts()
    style = OUTCOME_STYLE.get(record.outcome, "")
    return (
        when,
        escape(record.command),
        f"[{style}]{record.outcome}[/]" if style else record.outcome,
        f"{elapsed:.0f} s" if elapsed is not None else "-",
        str(changed),
        str(failed),
        record.run_dir.name,
    )


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    records = runs_of(path, include_probes=args.all)
    if not records:
        console.print(f"no runs recorded for {path}")
        return EXIT_OK
    table = Table(title=f"runs of {path}", title_justify="left")
    for column, justify in (
        ("started", "left"),
        ("command", "left"),
        ("outcome", "left"),
        ("duration", "right"),
        ("hosts changed", "right"),
        ("hosts failed", "right"),
        ("run directory", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for record in records[: args.last]:
        table.add_row(*_row(record))
    console.print(table)
    console.print(f"run directories: {records[0].run_dir.parent}")
    if ara_recorder.enabled():
        database = ara_recorder.database_dir(path)
        console.print(f"ARA: ARA_BASE_DIR={database} ARA_API_CLIENT=offline ara playbook list")
    return EXIT_OK
