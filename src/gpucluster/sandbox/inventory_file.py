"""Writes the sandbox's inventory: the same shape an operator writes for real hosts."""

from __future__ import annotations

from pathlib import Path

from gpucluster.inventory import NODE_GROUPS
from gpucluster.sandbox.layout import (
    CLUSTER_DOMAIN,
    CLUSTER_NAME,
    MANAGEMENT_NETWORK,
    STORAGE_MTU,
    STORAGE_NETWORK,
    SandboxNode,
)


def render_hosts(nodes: list[SandboxNode], macs: dict[str, str]) -> str:
    lines = [
        "---",
        "# Sandbox cluster written by `gpucluster sandbox up`. Each node is a systemd",
        "# container; storage_mac identifies its second NIC (left unconfigured).",
        "all:",
        "  children:",
    ]
    for group in NODE_GROUPS:
        lines += [f"    {group}:", "      hosts:"]
        for node in (n for n in nodes if n.group == group):
            lines += [
                f"        {node.name}:",
                f"          ansible_host: {node.address}",
                f"          storage_address: {node.storage_address}",
                f'          storage_mac: "{macs[node.name]}"',
            ]
    return "\n".join(lines) + "\n"


def render_group_vars(state: Path, admin_public_key: str) -> str:
    key = state / "id_ed25519"
    known_hosts = state / "known_hosts"
    return f"""---
# Cluster-wide settings of the sandbox cluster.
cluster_name: {CLUSTER_NAME}
cluster_domain: {CLUSTER_DOMAIN}
management_network:
  cidr: {MANAGEMENT_NETWORK}
storage_network:
  cidr: {STORAGE_NETWORK}
  mtu: {STORAGE_MTU}

# How Ansible reaches the nodes: SSH as root with the sandbox's own key,
# checking host keys against the ones collected when the nodes were created.
ansible_user: root
ansible_ssh_private_key_file: {key}
ansible_ssh_common_args: >-
  -o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes

# The nodes are containers: overlay on overlay is unavailable to their
# nested Docker Engine, so it uses vfs on its own volume.
docker_storage_driver: vfs

common_admin_users:
  - name: sandboxadmin
    ssh_keys:
      - "{admin_public_key}"
"""


def write_inventory(
    inventory_dir: Path,
    state: Path,
    nodes: list[SandboxNode],
    macs: dict[str, str],
    public_key: str,
) -> Path:
    """Write hosts.yml and group_vars/all.yml; return the inventory directory."""
    (inventory_dir / "group_vars").mkdir(parents=True, exist_ok=True)
    (inventory_dir / "hosts.yml").write_text(render_hosts(nodes, macs))
    (inventory_dir / "group_vars" / "all.yml").write_text(render_group_vars(state, public_key))
    return inventory_dir
