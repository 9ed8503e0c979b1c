"""Names and addresses of the sandbox's nodes and networks.

Fixed, documented subnets keep the sandbox predictable; they sit outside
Docker's default address pools so they do not collide with other networks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

MANAGEMENT_NETWORK = IPv4Network("10.221.0.0/24")
STORAGE_NETWORK = IPv4Network("10.222.0.0/24")
STORAGE_MTU = 9000
MANAGEMENT_NET_NAME = "gpucluster-mgmt"
STORAGE_NET_NAME = "gpucluster-storage"
LABEL = "io.gpucluster.sandbox"
CLUSTER_NAME = "sandbox"
CLUSTER_DOMAIN = "sandbox.internal"

# Fixed nodes: one of each service node type.
SERVICE_NODES: tuple[tuple[str, str, int], ...] = (
    ("login01", "login", 11),
    ("mgmt01", "management", 12),
    ("fs01", "fileserver", 13),
    ("backup01", "backup", 14),
)
GPU_HOST_OFFSET = 100
_GPU_NAME = re.compile(r"^gpu(\d{2,3})$")


@dataclass(frozen=True)
class SandboxNode:
    """One container of the sandbox and the addresses it gets."""

    name: str
    group: str
    address: IPv4Address
    storage_address: IPv4Address

    @property
    def container_name(self) -> str:
        return f"gpucluster-{self.name}"


def _node(name: str, group: str, host_number: int) -> SandboxNode:
    return SandboxNode(
        name=name,
        group=group,
        address=MANAGEMENT_NETWORK.network_address + host_number,
        storage_address=STORAGE_NETWORK.network_address + host_number,
    )


def gpu_node(name: str) -> SandboxNode:
    """A GPU node named gpuNN gets host number 100+NN on both networks."""
    match = _GPU_NAME.match(name)
    if not match or not 1 <= int(match.group(1)) <= 150:
        raise ValueError(f"sandbox GPU nodes are named gpu01..gpu150, not {name!r}")
    return _node(name, "gpu", GPU_HOST_OFFSET + int(match.group(1)))


def initial_nodes(gpu_nodes: int) -> list[SandboxNode]:
    """The nodes `sandbox up` creates."""
    if not 1 <= gpu_nodes <= 150:
        raise ValueError("--gpu-nodes must be between 1 and 150")
    nodes = [_node(name, group, number) for name, group, number in SERVICE_NODES]
    nodes += [gpu_node(f"gpu{index:02d}") for index in range(1, gpu_nodes + 1)]
    return nodes


def node_named(name: str) -> SandboxNode:
    """The sandbox node called `name`, with the addresses its name gives it (a replaced node
    keeps them). ValueError for a name the sandbox never gives a node."""
    for service, group, number in SERVICE_NODES:
        if service == name:
            return _node(service, group, number)
    return gpu_node(name)
