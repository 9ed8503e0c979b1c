"""`gpucluster add-node`: one inventory edit, then provision only what must change.

The new node gets the full site playbook; existing nodes run only the tasks
that must learn about it (their /etc/hosts), never the full roles again.

Repeating the command with the same values after a failed or interrupted run
finds the entry in place and goes straight to the run. When the new node
succeeds but an existing node fails or is unreachable, the command ends
partial (exit 3), naming the node that lags.
"""

from __future__ import annotations

import argparse
from functools import cache

from rich.console import Console

from gpucluster.commands.common import edit_then_run, inventory_path, with_run_options
from gpucluster.inventory import NewNode
from gpucluster.inventory.edit import Edit
from gpucluster.inventory.node_edits import add_node, node_in_place
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
    request = with_run_options(
        RunRequest(
            playbook="add-node.yml",
            inventory=path,
            command_name="add-node",
            extravars={"gpucluster_new_nodes": [args.name]},
            must_succeed_on=frozenset({args.name}),
        ),
        args,
        run_for=args.name,
    )
    # One reading of the inventory serves both the repeat check and the edit: it is validated
    # once, and the edit writes only if the hosts file is still exactly what was read.
    opened = cache(lambda: Edit.open(path))
    return edit_then_run(
        console,
        lambda: add_node(path, new, opened=opened()),
        f"added {args.name} to group {args.group} in {path}",
        None if args.edit_only else request,
        in_place=lambda: node_in_place(path, new, opened=opened()),
    )
