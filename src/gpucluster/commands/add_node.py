"""`gpucluster add-node`: one inventory edit, then provision only what must change.

The new node gets the full site playbook; existing nodes run only the tasks
that must learn about it (their /etc/hosts), never the full roles again.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from gpucluster.commands.common import inventory_path, print_problems, run_with_progress
from gpucluster.inventory import NewNode
from gpucluster.inventory_edit import add_node
from gpucluster.problems import InventoryError
from gpucluster.runner import RunRequest


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    new = NewNode(
        name=args.name,
        group=args.group,
        address=args.address,
        storage_address=args.storage_address,
        storage_interface=args.storage_interface,
        storage_mac=args.storage_mac,
    )
    try:
        add_node(path, new)
    except InventoryError as error:
        print_problems(console, error)
        console.print("inventory left unchanged")
        return EXIT_BAD_INPUT
    console.print(f"added {args.name} to group {args.group} in {path}")
    if args.edit_only:
        return EXIT_OK
    request = RunRequest(
        playbook="add-node.yml",
        inventory=path,
        command_name="add-node",
        extravars={"gpucluster_new_nodes": [args.name]},
    )
    result = run_with_progress(console, "add-node", request)
    return EXIT_OK if result.succeeded else EXIT_FAILED
