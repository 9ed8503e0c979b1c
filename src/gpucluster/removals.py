"""Nodes taken out of an inventory by remove-node, remembered so the cleanup can be repeated.

remove-node edits the inventory first and then runs the cleanup (Kubernetes drains and deletes
the node; every remaining node rewrites /etc/hosts from the inventory). The cleanup needs only
the node's name, but once the edit is made the inventory no longer says the node ever existed,
so a repeat after a failed cleanup could not tell a finished removal from a typo. The entry is
therefore recorded here (removed.json in the inventory's state directory) before the edit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from gpucluster import paths
from gpucluster.inventory import Node
from gpucluster.run_record import now_iso

REMOVED_FILE = "removed.json"


@dataclass(frozen=True)
class Removal:
    """A node as the inventory declared it just before remove-node took it out."""

    name: str
    group: str
    ansible_host: str
    storage_address: str
    storage_mac: str | None
    storage_interface: str | None
    removed_at: str


def _file(inventory: Path) -> Path:
    return paths.inventory_state_dir(inventory) / REMOVED_FILE


def _load(inventory: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(_file(inventory).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(inventory: Path, node: Node) -> Removal:
    """Remember `node` as removed (written before the edit that removes it)."""
    removal = Removal(
        name=node.name,
        group=node.group,
        ansible_host=str(node.address),
        storage_address=str(node.storage_address),
        storage_mac=node.storage_mac,
        storage_interface=node.storage_interface,
        removed_at=now_iso(),
    )
    data = _load(inventory)
    data[node.name] = asdict(removal)
    target = _file(inventory)
    temporary = target.with_name(f".{REMOVED_FILE}.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    temporary.replace(target)
    return removal


def recorded(inventory: Path, name: str) -> Removal | None:
    """The recorded removal of `name` from this inventory, if there is one."""
    entry = _load(inventory).get(name)
    if not isinstance(entry, dict):
        return None
    try:
        return Removal(**entry)
    except TypeError:
        return None
