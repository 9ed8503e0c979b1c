"""Create, prepare and remove the containers that stand in for servers."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import secrets
import tarfile
import threading
import time

import docker
from docker.errors import NotFound
from docker.models.containers import Container

from gpucluster import role_settings
from gpucluster.sandbox.image import NODE_IMAGE
from gpucluster.sandbox.layout import (
    LABEL,
    MANAGEMENT_NET_NAME,
    MANAGEMENT_NETWORK,
    STORAGE_MTU,
    STORAGE_NET_NAME,
    STORAGE_NETWORK,
    SandboxNode,
)
from gpucluster.sandbox.wheelhouse import NODE_PATH as WHEELHOUSE_NODE_PATH
from gpucluster.sandbox.wheelhouse import wheelhouse_dir

BOOT_TIMEOUT_S = 90


class SandboxError(RuntimeError):
    """The sandbox could not be brought to the requested state."""


def ensure_networks(client: docker.DockerClient) -> None:
    """The management network and the storage network (jumbo frames on its 'switch')."""
    wanted = {
        MANAGEMENT_NET_NAME: (MANAGEMENT_NETWORK, {}),
        STORAGE_NET_NAME: (STORAGE_NETWORK, {"com.docker.network.driver.mtu": str(STORAGE_MTU)}),
    }
    for name, (subnet, options) in wanted.items():
        if client.networks.list(names=[name]):
            continue
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=str(subnet))])
        client.networks.create(
            name, driver="bridge", ipam=ipam, options=options, labels={LABEL: "1"}
        )


def _exec(container: Container, *argv: str) -> str:
    result = container.exec_run(list(argv))
    output = result.output.decode(errors="replace")
    if result.exit_code != 0:
        raise SandboxError(f"{container.name}: {' '.join(argv)} failed: {output.strip()}")
    return output


def create_node(client: docker.DockerClient, node: SandboxNode, public_key: str) -> Container:
    """Start a node's container on both networks, reachable by SSH with our key."""
    api = client.api
    host_config = api.create_host_config(
        # DAC_READ_SEARCH: NFS-Ganesha's VFS backend opens files by handle.
        cap_add=["SYS_ADMIN", "NET_ADMIN", "DAC_READ_SEARCH"],
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        cgroupns="host",
        binds={
            "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
            # MLflow's wheels (sandbox/wheelhouse.py): the nodes reach no package index.
            str(wheelhouse_dir()): {"bind": WHEELHOUSE_NODE_PATH, "mode": "ro"},
        },
        tmpfs={"/run": "", "/run/lock": "", "/tmp": ""},
    )
    networking = api.create_networking_config(
        {MANAGEMENT_NET_NAME: api.create_endpoint_config(ipv4_address=str(node.address))}
    )
    created = api.create_container(
        NODE_IMAGE,
        name=node.container_name,
        hostname=node.name,
        # Nested container engines keep their data on volumes, not the overlay root,
        # and so does the NFS server: Ganesha needs file handles, which overlay lacks.
        volumes=["/var/lib/docker", "/var/lib/containerd", _export_root()],
        host_config=host_config,
        networking_config=networking,
        stop_signal="SIGRTMIN+3",
        labels={LABEL: "1", "io.gpucluster.node": node.name, "io.gpucluster.group": node.group},
    )
    api.connect_container_to_network(
        created["Id"], STORAGE_NET_NAME, ipv4_address=str(node.storage_address)
    )
    api.start(created["Id"])
    container = client.containers.get(created["Id"])
    _install_key(container, public_key)
    return container


def _install_key(container: Container, public_key: str) -> None:
    data = (public_key.strip() + "\n").encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("authorized_keys")
        info.size, info.mode, info.uid, info.gid = len(data), 0o600, 0, 0
        archive.addfile(info, io.BytesIO(data))
    container.put_archive("/root/.ssh", buffer.getvalue())


def storage_mac(container: Container) -> str:
    container.reload()
    return str(container.attrs["NetworkSettings"]["Networks"][STORAGE_NET_NAME]["MacAddress"])


def new_mac() -> str:
    """A random, locally administered unicast MAC outside Docker's own 02:42 range."""
    return ":".join(f"{octet:02x}" for octet in (0x02, 0x9C, *secrets.token_bytes(4)))


def give_storage_nic_a_new_mac(container: Container, old: str) -> str:
    """Set a new MAC on the storage NIC (the one with MAC `old`) and return it.

    New hardware has a new NIC, but Docker 20.10 derives a container's MAC from its address,
    so a new container at the same address would get the same one: the node's own `ip` sets
    it instead. It lasts as long as the container runs (a restart gives back Docker's).
    """
    links = json.loads(_exec(container, "ip", "-j", "link", "show"))
    names = [link["ifname"] for link in links if link.get("address") == old]
    if not names:
        raise SandboxError(f"{container.name}: no interface with MAC {old}")
    mac = new_mac()
    _exec(container, "ip", "link", "set", "dev", names[0], "down")
    _exec(container, "ip", "link", "set", "dev", names[0], "address", mac)
    _exec(container, "ip", "link", "set", "dev", names[0], "up")
    return mac


def unconfigure_storage_nic(container: Container, mac: str) -> None:
    """Leave the second NIC as on a fresh server: no address, default MTU."""
    links = json.loads(_exec(container, "ip", "-j", "link", "show"))
    names = [link["ifname"] for link in links if link.get("address") == mac]
    if not names:
        raise SandboxError(f"{container.name}: no interface with MAC {mac}")
    _exec(container, "ip", "addr", "flush", "dev", names[0])
    _exec(container, "ip", "link", "set", "dev", names[0], "mtu", "1500")


def _exited(container: Container) -> str | None:
    """Why the container stopped (exit code, last log lines), or None while it runs."""
    container.reload()
    if container.status == "running":
        return None
    code = container.attrs.get("State", {}).get("ExitCode")
    log = container.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
    hint = ""
    if code == 255 and not log:
        hint = " (often the host's fs.inotify.max_user_instances: run `gpucluster sandbox prepare`)"
    return f"container {container.status} with exit code {code}{hint}" + (
        f"; last log: {log}" if log else "; no log"
    )


def wait_for_ssh_host_key(container: Container) -> str:
    """Wait until the node booted and sshd runs; return its ed25519 host key.

    A container that stops instead is reported at once, naming the node, not after the
    timeout and not as a Docker API error.
    """
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        stopped = _exited(container)
        if stopped is not None:
            raise SandboxError(f"{container.name}: did not boot: {stopped}")
        state = container.exec_run(["systemctl", "is-active", "ssh"]).output.decode().strip()
        if state == "active":
            key = container.exec_run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
            fields = key.output.decode().split()[:2] if key.exit_code == 0 else []
            # A file ssh-keygen has created but not yet written reads as empty: wait for
            # the whole key, never record an empty one (known_hosts would lack the node).
            if len(fields) == 2 and fields[0] == "ssh-ed25519":
                return " ".join(fields)
        time.sleep(0.5)
    raise SandboxError(f"{container.name}: sshd did not start within {BOOT_TIMEOUT_S}s")


def sandbox_containers(client: docker.DockerClient) -> list[Container]:
    return client.containers.list(all=True, filters={"label": LABEL})


def node_container(client: docker.DockerClient, name: str) -> Container | None:
    """The container of sandbox node `name` (running or not), or None."""
    for container in sandbox_containers(client):
        if container.labels.get("io.gpucluster.node") == name:
            return container
    return None


def remove_node(container: Container) -> None:
    """Remove one node's container and its volumes: its disks go with the old hardware."""
    with contextlib.suppress(NotFound):
        container.remove(force=True, v=True)


def remove_all(client: docker.DockerClient) -> tuple[int, int]:
    """Remove every container and network carrying the sandbox label, nothing else."""
    containers = sandbox_containers(client)
    for container in containers:
        with contextlib.suppress(NotFound):
            container.remove(force=True, v=True)
    networks = client.networks.list(filters={"label": LABEL})
    for network in networks:
        network.remove()
    return len(containers), len(networks)


_EXPORT_ROOT_LOCK = threading.Lock()


def _export_root() -> str:
    """Where role nfs_server keeps its exports (role cluster's cluster_export_root): the
    sandbox inventory leaves it at the role's default.

    Nodes boot from several threads, and Ansible's plugin loader, which the rendering
    uses, is not safe to enter from two threads at once: the first caller renders it.
    """
    with _EXPORT_ROOT_LOCK:
        return _rendered_export_root()


@functools.cache
def _rendered_export_root() -> str:
    settings = role_settings.load(["cluster"]).defaults
    return str(role_settings.render(settings).template("{{ cluster_export_root }}"))
