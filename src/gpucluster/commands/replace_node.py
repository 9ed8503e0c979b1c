"""`gpucluster replace-node`: new hardware under an old name.

The node keeps its name and group; what the new machine brings is a new SSH host key and, as
a rule, a new storage NIC MAC (and possibly new addresses). In order, changing nothing until
everything before has passed:

1. the edit (the given MAC and addresses) is validated against the whole inventory;
2. the node's new host key is fetched and shown (SHA256, as ssh-keygen shows it). Without
   --accept-new-host-key a key that is not trusted yet stops the command (exit 2): the
   operator compares it with the node's console first. With the flag it replaces the old key
   in the known_hosts file ssh uses for the node;
3. the inventory edit is written (the same safe edit as add-node) and the node's cached facts,
   which describe the old machine, are dropped;
4. playbooks/replace-node.yml provisions the node in full and its peers learn about it. The
   node's backups and its LDAP entries are left alone (this is not remove-node).

A repeat with the same arguments finishes the job: the key is then trusted and the values in
place, so it goes straight to the run. Peers that fail while the node succeeds make it partial
(exit 3), as with add-node.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from gpucluster import lagging
from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, EXIT_PARTIAL
from gpucluster.commands.common import (
    exit_code,
    inventory_path,
    print_problems,
    refuse_dry_run_before_the_edit,
    run_with_progress,
    with_run_options,
)
from gpucluster.host_keys import HostKeyError, NodeSilent, scan
from gpucluster.inventory import Node, NodeChange, load_cluster
from gpucluster.inventory.node_edits import change_in_place, change_node
from gpucluster.inventory.problems import InventoryError
from gpucluster.replacement_keys import KeyDecision, decide_host_key
from gpucluster.runner import RunRequest, fact_cache_dir
from gpucluster.ssh_settings import SshSettingsError, node_ssh_view

PLAYBOOK = "replace-node.yml"


def change_from(args: argparse.Namespace) -> NodeChange:
    return NodeChange(
        name=args.name,
        address=args.address,
        storage_address=args.storage_address,
        storage_interface=args.storage_interface,
        storage_mac=args.storage_mac,
    )


def forget_facts(inventory: Path, name: str) -> bool:
    """Drop the node's cached facts (they describe the old machine: its MACs, its disks).

    Plays gather facts only when none are cached (gathering = smart), so stale ones would be
    used as they are. True when there were some.
    """
    cached = fact_cache_dir(inventory) / name
    if not cached.is_file():
        return False
    cached.unlink()
    return True


def _validated(path: Path, change: NodeChange, console: Console) -> tuple[Node, str | None] | None:
    """The node as the inventory has it now and the in-place message of a repeat (None when
    there is something to edit); None after printing the problems of a refused edit."""
    try:
        already = change_in_place(path, change)
        if already is None:
            change_node(path, change, write=False)
        node = load_cluster(path).node(change.name)
    except InventoryError as error:
        print_problems(console, error)
        console.print("nothing changed (inventory and known_hosts left as they were)")
        return None
    return node, already


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    change = change_from(args)
    validated = _validated(path, change, console)
    if validated is None:
        return EXIT_BAD_INPUT
    node, already = validated
    if already is None and args.check:
        return refuse_dry_run_before_the_edit(
            console, "nothing changed (inventory and known_hosts left as they were)"
        )
    address = change.address or str(node.address)
    if node.storage_mac and change.storage_mac is None:
        console.print(
            f"note: {escape(node.name)} keeps storage_mac {node.storage_mac}: new hardware "
            "usually has a new storage NIC; give --storage-mac when its MAC differs",
            soft_wrap=True,
        )
    try:
        view = node_ssh_view(path, node.name, address)
        offered = scan(node.name, view)
        decision = decide_host_key(
            console,
            node.name,
            view,
            offered,
            accept=args.accept_new_host_key,
            old_address=node.address,
        )
    except (SshSettingsError, HostKeyError) as error:
        console.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        console.print("nothing changed (inventory and known_hosts left as they were)")
        return EXIT_FAILED if isinstance(error, NodeSilent) else EXIT_BAD_INPUT
    if decision is KeyDecision.REFUSED:
        return EXIT_BAD_INPUT
    if already is not None:
        console.print(f"{escape(already)}: nothing to edit", soft_wrap=True)
    else:
        try:
            change_node(path, change)
        except InventoryError as error:
            print_problems(console, error)
            console.print("inventory left unchanged; repeat the command to finish")
            return EXIT_BAD_INPUT
        given = ", ".join(f"{field} {value}" for field, value in change.values().items())
        console.print(f"set {escape(given)} for {escape(node.name)} in {path}", soft_wrap=True)
    if forget_facts(path, node.name):
        console.print(f"dropped the cached facts of {escape(node.name)} (the old machine's)")
    if args.edit_only:
        return EXIT_OK
    request = with_run_options(
        RunRequest(
            playbook=PLAYBOOK,
            inventory=path,
            command_name="replace-node",
            extravars={"gpucluster_new_nodes": [node.name]},
            must_succeed_on=frozenset({node.name}),
        ),
        args,
        run_for=node.name,
    )
    code = exit_code(run_with_progress(console, request.command_name, request))
    if code in (EXIT_OK, EXIT_PARTIAL) and not request.check:
        # The node itself got the full site playbook: nothing it lagged behind in remains.
        lagging.forget(path, node.name)
    return code
