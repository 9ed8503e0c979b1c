"""`gpucluster remove-node`: drop a node from the inventory, then from its peers.

The inventory edit comes first (validated, atomic, comments kept), so the
remaining nodes are converged to a cluster that no longer lists the node.
The node's entry is recorded before the edit (removals), so repeating the
command after a failed cleanup runs the cleanup again instead of refusing a
node that is "not in the inventory".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from gpucluster import lagging, removals
from gpucluster.commands import EXIT_OK
from gpucluster.commands.common import edit_then_run, inventory_path, with_run_options
from gpucluster.inventory import load_cluster
from gpucluster.inventory.node_edits import remove_node
from gpucluster.inventory.problems import InventoryError, Problem
from gpucluster.runner import RunRequest


def already_removed(path: Path, name: str) -> str | None:
    """None while the node is in the inventory (its entry is recorded first); a message when
    its removal was recorded earlier; InventoryError when it was never here."""
    cluster = load_cluster(path)
    try:
        removals.record(path, cluster.node(name))
        return None
    except KeyError:
        pass
    removal = removals.recorded(path, name)
    if removal is None:
        message = "not in the inventory, and no removal of it is recorded for this inventory"
        raise InventoryError([Problem(cluster.hosts_file, None, name, None, message)])
    return f"{name} was removed from the inventory at {removal.removed_at}"


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    request = with_run_options(
        RunRequest(
            playbook="remove-node.yml",
            inventory=path,
            command_name="remove-node",
            extravars={"gpucluster_removed_nodes": [args.name]},
            catch_up=f"gpucluster remove-node {args.name} -i {path}",
        ),
        args,
    )
    code = edit_then_run(
        console,
        lambda: remove_node(path, args.name),
        f"removed {args.name} from {path}",
        None if args.edit_only else request,
        in_place=lambda: already_removed(path, args.name),
    )
    if code == EXIT_OK:
        lagging.forget(path, args.name)
    return code
