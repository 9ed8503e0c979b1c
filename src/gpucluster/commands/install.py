"""`gpucluster install`: converge the whole cluster (or --limit) to the inventory.

Nodes that were unreachable while every other node converged make the install
partial (exit 3): they are recorded as lagging until an install reaches them.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from gpucluster.commands import EXIT_BAD_INPUT
from gpucluster.commands.common import (
    exit_code,
    inventory_path,
    load_or_report,
    run_with_progress,
    with_run_options,
)
from gpucluster.runner import RunRequest


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    if load_or_report(path, console) is None:
        return EXIT_BAD_INPUT
    request = with_run_options(
        RunRequest(playbook="site.yml", inventory=path, command_name="install"), args
    )
    return exit_code(run_with_progress(console, "install", request))
