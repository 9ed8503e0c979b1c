"""`gpucluster remove-node`: drop a node from the inventory, then from its peers.

The inventory edit comes first (validated, atomic, comments kept), so the
remaining nodes are converged to a cluster that no longer lists the node.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from gpucluster.commands.common import edit_then_run, inventory_path
from gpucluster.inventory_edit import remove_node
from gpucluster.runner import RunRequest


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    request = RunRequest(
        playbook="remove-node.yml",
        inventory=path,
        command_name="remove-node",
        extravars={"gpucluster_removed_nodes": [args.name]},
    )
    return edit_then_run(
        console,
        lambda: remove_node(path, args.name),
        f"removed {args.name} from {path}",
        None if args.edit_only else request,
    )
