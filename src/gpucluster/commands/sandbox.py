"""`gpucluster sandbox`: a simulated cluster of systemd containers on this machine."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from gpucluster.commands import EXIT_FAILED, EXIT_OK
from gpucluster.host_keys import HostKey, HostKeyError, fingerprints
from gpucluster.sandbox import cluster
from gpucluster.sandbox.engine import EngineError
from gpucluster.sandbox.nodes import SandboxError
from gpucluster.sandbox.wheelhouse import WheelhouseError, ensure_wheelhouse


def _up(args: argparse.Namespace, console: Console) -> int:
    inventory = cluster.up(args.gpu_nodes, report=lambda note: console.print(note, highlight=False))
    console.print(f"sandbox up: inventory at {inventory}")
    console.print(f"next: gpucluster install -i {inventory}")
    return EXIT_OK


def _add(args: argparse.Namespace, console: Console) -> int:
    node, mac = cluster.add(args.name, report=lambda note: console.print(note, highlight=False))
    inventory = cluster.sandbox_paths().inventory
    console.print(f"sandbox node {node.name} booted (not yet in the inventory)")
    console.print(
        f"next: gpucluster add-node {node.name} --group {node.group} --address {node.address} "
        f"--storage-address {node.storage_address} --storage-mac {mac} -i {inventory}",
        highlight=False,
    )
    return EXIT_OK


def _replace(args: argparse.Namespace, console: Console) -> int:
    replaced = cluster.replace(args.name, report=lambda note: console.print(note, highlight=False))
    node, inventory = replaced.node, cluster.sandbox_paths().inventory
    kind, blob = replaced.host_key.split()[:2]
    (fingerprint,) = fingerprints(node.name, [HostKey(kind, blob)], node.name)
    console.print(
        f"sandbox node {node.name} replaced by new hardware: a new container with a new SSH "
        f"host key and storage MAC {replaced.storage_mac}, at {node.address} and "
        f"{node.storage_address} as before (known_hosts still trusts the old key)",
        highlight=False,
    )
    console.print(f"its console shows the host key: {fingerprint}", highlight=False)
    console.print(
        f"next: gpucluster replace-node {node.name} --storage-mac {replaced.storage_mac} "
        f"-i {inventory}  (compare the key it shows, then add --accept-new-host-key)",
        highlight=False,
    )
    return EXIT_OK


def _status(_: argparse.Namespace, console: Console) -> int:
    nodes = cluster.status()
    if not nodes:
        console.print("no sandbox is up")
        return EXIT_OK
    table = Table(title="sandbox", title_justify="left")
    for column in ("node", "group", "state", "address", "storage address"):
        table.add_column(column)
    for node in nodes:
        table.add_row(node.name, node.group, node.state, node.address, node.storage_address)
    console.print(table)
    console.print(f"inventory: {cluster.sandbox_paths().inventory}")
    return EXIT_OK


def _down(_: argparse.Namespace, console: Console) -> int:
    containers, networks = cluster.down()
    console.print(f"sandbox down: removed {containers} container(s) and {networks} network(s)")
    return EXIT_OK


def _prepare(_: argparse.Namespace, console: Console) -> int:
    """What the sandbox and every Molecule scenario need, MLflow's wheels included (its
    scenario mounts the same cache the sandbox does); CI runs this before the scenarios."""
    cluster.prepare(report=lambda note: console.print(note, highlight=False))
    wheels = ensure_wheelhouse()
    console.print(f"Docker engine running, node image present, MLflow's wheels in {wheels}")
    return EXIT_OK


ACTIONS = {
    "up": _up,
    "add": _add,
    "replace": _replace,
    "status": _status,
    "down": _down,
    "prepare": _prepare,
}


def run(args: argparse.Namespace, console: Console) -> int:
    try:
        return ACTIONS[args.sandbox_action](args, console)
    except (SandboxError, EngineError, HostKeyError, WheelhouseError, ValueError) as error:
        console.print(f"[bold red]error:[/] {error}", highlight=False)
        return EXIT_FAILED
