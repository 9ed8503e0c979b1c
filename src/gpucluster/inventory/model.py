"""The cluster model the commands use: an immutable `Cluster` of `Node`s.

The inventory is the single source of truth for the cluster (see DESIGN.md). A `Cluster` is
only ever built by `load` from input every rule accepted, so a command can rely on every value
in it. `NewNode` and `NodeChange` are what an operator asks a node edit for, still unvalidated.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from gpucluster.inventory.values import NODE_GROUPS


@dataclass(frozen=True)
class Node:
    """One machine of the cluster."""

    name: str
    group: str
    address: IPv4Address
    storage_address: IPv4Address
    storage_interface: str | None
    storage_mac: str | None  # lowercase


@dataclass(frozen=True)
class Cluster:
    """A validated inventory: the files it came from and the cluster they describe."""

    hosts_file: Path
    vars_files: tuple[Path, ...]
    name: str
    domain: str
    management_network: IPv4Network | None
    storage_network: IPv4Network
    storage_mtu: int
    nodes: tuple[Node, ...]

    def node(self, name: str) -> Node:
        """The node called `name`; KeyError when there is none."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def group(self, group: str) -> tuple[Node, ...]:
        """The nodes of one node group, in inventory order.

        KeyError for a name that is not a node group, so a typo in the caller fails loudly
        instead of looking like an empty group.
        """
        if group not in NODE_GROUPS:
            raise KeyError(group)
        return tuple(node for node in self.nodes if node.group == group)


@dataclass(frozen=True)
class NewNode:
    """A node to add, as the operator typed it on the command line (unvalidated strings).

    Strings, not addresses: `node_edits.add_node` validates them together with the rest of
    the inventory, so a bad value is reported like any other problem, naming its field.
    """

    name: str
    group: str
    address: str
    storage_address: str
    storage_interface: str | None = None
    storage_mac: str | None = None


@dataclass(frozen=True)
class NodeChange:
    """New values for a node that stays (replace-node: new hardware under an old name).

    Unvalidated strings as the operator typed them, like NewNode; None keeps the inventory's
    value. The name and group never change: they are what makes it the same node.
    """

    name: str
    address: str | None = None
    storage_address: str | None = None
    storage_interface: str | None = None
    storage_mac: str | None = None

    def values(self) -> dict[str, str]:
        """The variables to set, by their inventory names (only those given)."""
        given = {
            "ansible_host": self.address,
            "storage_address": self.storage_address,
            "storage_interface": self.storage_interface,
            "storage_mac": self.storage_mac,
        }
        return {field: value for field, value in given.items() if value is not None}
