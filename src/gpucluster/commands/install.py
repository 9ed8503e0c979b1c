"""`gpucluster install`: converge the whole cluster to the inventory."""

from __future__ import annotations

import argparse

from rich.console import Console

from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from gpucluster.commands.common import inventory_path, load_or_report, run_with_progress
from gpucluster.runner import RunRequest


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    if load_or_report(path, console) is None:
        return EXIT_BAD_INPUT
    request = RunRequest(
        playbook="site.yml",
        inventory=path,
        command_name="install",
        limit=args.limit,
        check=args.check,
        diff=args.diff,
    )
    result = run_with_progress(console, "install", request)
    return EXIT_OK if result.succeeded else EXIT_FAILED
