"""`gpucluster verify`: the testinfra suite that Molecule runs, against a real cluster."""

from __future__ import annotations

import argparse
import subprocess
import sys

from rich.console import Console

from gpucluster import paths
from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from gpucluster.commands.common import inventory_path, load_or_report
from gpucluster.runner import ansible_environment


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    if load_or_report(path, console) is None:
        return EXIT_BAD_INPUT
    root = paths.project_root()
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(root / "tests" / "infra"),
        "--connection=ansible",
        f"--ansible-inventory={path.resolve()}",
        "-p",
        "no:cacheprovider",
        "-rs",
        "-q",
        *(["-k", args.select] if args.select else []),
    ]
    console.print(f"verify: {' '.join(command)}", highlight=False)
    completed = subprocess.run(command, env=ansible_environment(path), check=False)
    return EXIT_OK if completed.returncode == 0 else EXIT_FAILED
