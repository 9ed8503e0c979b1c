"""`gpucluster remove-node`: drop a node from the inventory, then from its peers.

The inventory edit comes first (validated, atomic, comments kept), so the
remaining nodes are converged to a cluster that no longer lists the node.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from gpucluster.commands.common import inventory_path, print_problems, run_with_progress
from gpucluster.inventory_edit import remove_node
from gpucluster.problems import InventoryError
from gpucluster.runner import RunRequest


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    try:
        remove_node(path, args.name)
    except InventoryError as error:
        print_problems(console, error)
        console.print("inventory left unchanged")
        return EXIT_BAD_INPUT
    console.print(f"removed {args.name} from {path}")
    if args.edit_only:
        return EXIT_OK
    request = RunRequest(playbook="remove-node.yml", inventory=path, command_name="remove-node")
    result = run_with_progress(console, "remove-node", request)
    return EXIT_OK if result.succeeded else EXIT_FAILED
