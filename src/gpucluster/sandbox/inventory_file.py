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
from gpucluster.sandbox.wheelhouse import NODE_PATH as WHEELHOUSE_NODE_PATH


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

# The containers' kernel has no nfsd: the file server runs NFS-Ganesha.
nfs_server_backend: ganesha

# No Kubernetes package source is reachable from here: kubeadm and kubelet
# are not installed, and the steps that need them are reported as not run.
kubernetes_node_package_source: none

# The cluster registry's name, on the management node's storage address.
common_hosts_aliases:
  - name: "registry.{{{{ cluster_domain }}}}"
    host: "{{{{ groups['management'][0] }}}}"
    network: storage

# Alerts go to a webhook on the management node, where the end-to-end test
# runs a receiver (with none running, Alertmanager logs failed deliveries).
# Short timings, so a node that goes down is reported within a minute.
prometheus_alert_webhook_urls:
  - "http://{{{{ hostvars[groups['management'][0]].ansible_host }}}}:9199/alerts"
prometheus_scrape_interval: 10s
prometheus_evaluation_interval: 10s
prometheus_node_down_for: 20s
prometheus_alert_group_wait: 1s
prometheus_alert_group_interval: 10s

# MLflow's pinned wheels, downloaded on this machine and mounted read-only
# into every node (the nodes reach no package index).
mlflow_wheelhouse_dir: {WHEELHOUSE_NODE_PATH}

# The GPU nodes have no GPU and the registry holds no NVIDIA image: no DCGM
# exporter (role dcgm_exporter says so) and no target for it.
dcgm_exporter_enabled: false

common_admin_users:
  - name: sandboxadmin
    ssh_keys:
      - "{admin_public_key}"
"""


SANDBOX_USERS: dict[str, tuple[int, tuple[str, ...], bool]] = {
    "alice": (10001, ("vision",), False),
    "bob": (10002, ("nlp",), False),
    "carol": (10003, ("vision", "nlp"), True),
}
"""name: (uid, projects, admin). Two projects whose members must not see each other's
files, and an admin: enough to try every login rule. Keys live in the state dir."""
SANDBOX_PROJECTS = {"vision": 20001, "nlp": 20002}


def render_people(user_keys: dict[str, str]) -> str:
    """group_vars/all/people.yml: what `gpucluster user|project` edit from then on."""
    lines = [
        "---",
        "# People and projects of the sandbox. Private keys: <state>/sandbox/users/<name>.",
        "cluster_projects:",
    ]
    for project, gid in SANDBOX_PROJECTS.items():
        lines += [f"  - name: {project}", f"    gid: {gid}"]
    lines.append("cluster_users:")
    for name, (uid, projects, admin) in SANDBOX_USERS.items():
        lines += [
            f"  - name: {name}",
            f"    uid: {uid}",
            f"    full_name: {name.capitalize()} Sandbox",
            "    ssh_keys:",
            f'      - "{user_keys[name]}"',
            f"    projects: [{', '.join(projects)}]",
            f"    admin: {'true' if admin else 'false'}",
        ]
    return "\n".join(lines) + "\n"


def write_inventory(
    inventory_dir: Path,
    state: Path,
    nodes: list[SandboxNode],
    macs: dict[str, str],
    public_key: str,
    user_keys: dict[str, str],
) -> Path:
    """Write hosts.yml and group_vars/all/{main,people}.yml; return the directory.

    Two files in group_vars/all/ (never an all.yml beside it: Ansible would then read
    only the directory) so that `gpucluster user|project` edit people.yml alone.
    """
    (inventory_dir / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    (inventory_dir / "hosts.yml").write_text(render_hosts(nodes, macs))
    (inventory_dir / "group_vars" / "all" / "main.yml").write_text(
        render_group_vars(state, public_key)
    )
    (inventory_dir / "group_vars" / "all" / "people.yml").write_text(render_people(user_keys))
    return inventory_dir
