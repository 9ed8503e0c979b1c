"""The sandbox lifecycle behind `gpucluster sandbox up|add|status|down`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker

from gpucluster import paths
from gpucluster.sandbox import nodes as node_ops
from gpucluster.sandbox.engine import ensure_engine
from gpucluster.sandbox.host_limits import raise_inotify_instances
from gpucluster.sandbox.image import ensure_image
from gpucluster.sandbox.inventory_file import SANDBOX_USERS, write_inventory
from gpucluster.sandbox.layout import SandboxNode, gpu_node, initial_nodes, node_named
from gpucluster.sandbox.wheelhouse import ensure_wheelhouse


@dataclass(frozen=True)
class SandboxPaths:
    """Where one sandbox keeps its key, host keys and inventory."""

    root: Path

    @property
    def private_key(self) -> Path:
        return self.root / "id_ed25519"

    @property
    def public_key(self) -> Path:
        return self.root / "id_ed25519.pub"

    def user_key(self, user: str) -> Path:
        """The private key of a sandbox LDAP user (its .pub is declared in the inventory)."""
        return self.root / "users" / user

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory"


@dataclass(frozen=True)
class NodeStatus:
    name: str
    group: str
    state: str
    address: str
    storage_address: str


def sandbox_paths() -> SandboxPaths:
    return SandboxPaths(paths.state_dir() / "sandbox")


def prepare(report: Callable[[str], None] = lambda _: None) -> docker.DockerClient:
    """Engine running, node image built, host limits raised: what the sandbox and Molecule
    need. `report` hears about each change made to the machine."""
    client = ensure_engine(paths.state_dir())
    ensure_image()
    note = raise_inotify_instances()
    if note is not None:
        report(note)
    return client


def _ensure_key(private_key: Path, comment: str) -> str:
    """An ed25519 key pair without passphrase (made once, 0600); returns the public key."""
    private_key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not private_key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(private_key)],
            check=True,
        )
    return private_key.with_suffix(".pub").read_text().strip()


def _boot(client: docker.DockerClient, node: SandboxNode, public_key: str) -> tuple[str, str]:
    """Create one node; return (storage MAC, known_hosts lines)."""
    container = node_ops.create_node(client, node, public_key)
    host_key = node_ops.wait_for_ssh_host_key(container)
    mac = node_ops.storage_mac(container)
    node_ops.unconfigure_storage_nic(container, mac)
    return mac, f"{node.address} {host_key}\n{node.name} {host_key}\n"


def _boot_all(
    client: docker.DockerClient, planned: list[SandboxNode], public_key: str
) -> list[tuple[str, str]]:
    """Boot every node in parallel; a SandboxError names every node that did not boot."""

    def boot(node: SandboxNode) -> tuple[str, str] | node_ops.SandboxError:
        try:
            return _boot(client, node, public_key)
        except node_ops.SandboxError as error:
            return error

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(boot, planned))
    failed = [str(result) for result in results if isinstance(result, node_ops.SandboxError)]
    if failed:
        raise node_ops.SandboxError("; ".join(failed))
    return [result for result in results if not isinstance(result, node_ops.SandboxError)]


def up(gpu_nodes: int, report: Callable[[str], None] = lambda _: None) -> Path:
    """Create the sandbox cluster and its inventory; return the inventory directory."""
    state = sandbox_paths()
    client = prepare(report)
    if node_ops.sandbox_containers(client):
        raise node_ops.SandboxError("a sandbox already exists; run `gpucluster sandbox down` first")
    public_key = _ensure_key(state.private_key, "gpucluster-sandbox")
    user_keys = {
        user: _ensure_key(state.user_key(user), f"{user}@gpucluster-sandbox")
        for user in SANDBOX_USERS
    }
    ensure_wheelhouse()
    node_ops.ensure_networks(client)
    planned = initial_nodes(gpu_nodes)
    booted = _boot_all(client, planned, public_key)
    macs = {node.name: mac for node, (mac, _) in zip(planned, booted, strict=True)}
    state.known_hosts.write_text("".join(lines for _, lines in booted))
    return write_inventory(state.inventory, state.root, planned, macs, public_key, user_keys)


def add(name: str, report: Callable[[str], None] = lambda _: None) -> tuple[SandboxNode, str]:
    """Boot one more GPU node (not yet in the inventory); return it and its storage MAC."""
    state = sandbox_paths()
    client = prepare(report)
    node = gpu_node(name)
    existing = {c.labels.get("io.gpucluster.node") for c in node_ops.sandbox_containers(client)}
    if not existing:
        raise node_ops.SandboxError("no sandbox is up; run `gpucluster sandbox up` first")
    if name in existing:
        raise node_ops.SandboxError(f"sandbox node {name} already exists")
    mac, known = _boot(client, node, state.public_key.read_text().strip())
    with state.known_hosts.open("a") as handle:
        handle.write(known)
    return node, mac


@dataclass(frozen=True)
class Replacement:
    """A node recreated as new hardware: its new storage MAC and the host key it made."""

    node: SandboxNode
    storage_mac: str
    host_key: str  # "ssh-ed25519 AAAA...", as the node's console would show it


def replace(name: str, report: Callable[[str], None] = lambda _: None) -> Replacement:
    """Recreate node `name` as new hardware under its old name and addresses.

    A new container (new disks, so a new SSH host key: the image makes them at first boot)
    with a new MAC on its storage NIC, left unconfigured like a fresh server's. known_hosts
    keeps the old key: trusting the new one is `gpucluster replace-node`'s job.
    """
    state = sandbox_paths()
    client = prepare(report)
    node = node_named(name)
    if not node_ops.sandbox_containers(client):
        raise node_ops.SandboxError("no sandbox is up; run `gpucluster sandbox up` first")
    old = node_ops.node_container(client, name)
    if old is None:
        raise node_ops.SandboxError(
            f"no sandbox node {name} (`gpucluster sandbox status` lists them)"
        )
    node_ops.remove_node(old)
    container = node_ops.create_node(client, node, state.public_key.read_text().strip())
    host_key = node_ops.wait_for_ssh_host_key(container)
    mac = node_ops.give_storage_nic_a_new_mac(container, node_ops.storage_mac(container))
    node_ops.unconfigure_storage_nic(container, mac)
    return Replacement(node, mac, host_key)


def status() -> list[NodeStatus]:
    client = ensure_engine(paths.state_dir())
    result = []
    for container in node_ops.sandbox_containers(client):
        networks = container.attrs["NetworkSettings"]["Networks"]
        result.append(
            NodeStatus(
                name=container.labels.get("io.gpucluster.node", container.name),
                group=container.labels.get("io.gpucluster.group", "?"),
                state=container.status,
                address=networks.get(node_ops.MANAGEMENT_NET_NAME, {}).get("IPAddress", ""),
                storage_address=networks.get(node_ops.STORAGE_NET_NAME, {}).get("IPAddress", ""),
            )
        )
    return sorted(result, key=lambda s: s.name)


def down() -> tuple[int, int]:
    """Remove the sandbox's containers, networks and state; keep the node image."""
    client = ensure_engine(paths.state_dir())
    removed = node_ops.remove_all(client)
    shutil.rmtree(sandbox_paths().root, ignore_errors=True)
    return removed
