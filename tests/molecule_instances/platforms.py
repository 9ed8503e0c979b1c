"""Create and destroy a Molecule scenario's node containers with one Docker API client.

Molecule's docker driver does this with a playbook of a dozen tasks per step (registry
logins, Dockerfile probes, image discovery, async jobs polled one by one): about 20 s to
create two or three containers and 10-18 s to remove them, in every scenario, and again
for the destroy that finds nothing. This script does the same for the platform fields the
scenarios use, in about a second; .config/molecule/config.yml names the two playbooks
next to it as every scenario's create and destroy.

Usage: platforms.py create|destroy < platforms.json (molecule_yml.platforms)

The containers and networks carry Molecule's own `owner: molecule` label, so a destroy
removes only networks a create made.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import docker
from docker.errors import NotFound

LABELS = {"owner": "molecule"}
# Molecule's default command when a platform does not keep the image's own.
IDLE_COMMAND = 'bash -c "while true; do sleep 10000; done"'
SUPPORTED = {
    "name",
    "hostname",
    "image",
    "pre_build_image",
    "command",
    "override_command",
    "stop_signal",
    "capabilities",
    "security_opts",
    "cgroupns_mode",
    "volumes",
    "tmpfs",
    "docker_networks",
    "networks",
    "groups",
    "keep_volumes",
}


class PlatformError(ValueError):
    """A platform asks for something this script does not do."""


def networks_of(platforms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every network the platforms declare or join, once, in first-mention order.

    A network only named under a platform's `networks` is created plain, as the
    driver does.
    """
    found: dict[str, dict[str, Any]] = {}
    for platform in platforms:
        for network in platform.get("docker_networks", []):
            found.setdefault(network["name"], network)
        for network in platform.get("networks", []):
            found.setdefault(network["name"], {"name": network["name"]})
    return list(found.values())


def container_settings(platform: dict[str, Any]) -> dict[str, Any]:
    """The create_container and host-config arguments for one platform."""
    unknown = set(platform) - SUPPORTED
    if unknown:
        raise PlatformError(f"platform {platform['name']}: unsupported field(s) {sorted(unknown)}")
    if not platform.get("pre_build_image", False):
        raise PlatformError(f"platform {platform['name']}: only pre_build_image: true is supported")
    binds: dict[str, dict[str, str]] = {}
    anonymous: list[str] = []
    for volume in platform.get("volumes", []):
        parts = volume.split(":")
        if len(parts) == 1:
            anonymous.append(parts[0])
        else:
            binds[parts[0]] = {"bind": parts[1], "mode": parts[2] if len(parts) > 2 else "rw"}
    command = None
    if platform.get("override_command", True):
        command = platform.get("command", IDLE_COMMAND)
    return {
        "container": {
            "image": platform["image"],
            "name": platform["name"],
            "hostname": platform.get("hostname", platform["name"]),
            "command": command,
            "stop_signal": platform.get("stop_signal"),
            "volumes": [*anonymous, *(bind["bind"] for bind in binds.values())],
            "labels": LABELS,
        },
        "host": {
            "cap_add": platform.get("capabilities"),
            "security_opt": platform.get("security_opts"),
            "cgroupns": platform.get("cgroupns_mode"),
            "binds": binds or None,
            "tmpfs": {path: "" for path in platform.get("tmpfs", [])} or None,
        },
    }


def _named(client: docker.DockerClient, name: str) -> list[Any]:
    """The networks called exactly `name` (Docker's name filter also matches parts)."""
    return [found for found in client.networks.list(names=[name]) if found.name == name]


def _ensure_network(client: docker.DockerClient, network: dict[str, Any]) -> None:
    if _named(client, network["name"]):
        return
    pools = [
        docker.types.IPAMPool(subnet=pool["subnet"]) for pool in network.get("ipam_config", [])
    ]
    client.networks.create(
        network["name"],
        driver="bridge",
        ipam=docker.types.IPAMConfig(pool_configs=pools) if pools else None,
        options=network.get("driver_options"),
        labels=LABELS,
    )


def create(client: docker.DockerClient, platforms: list[dict[str, Any]]) -> None:
    """Start every platform's container on its networks (in their order: eth0 first).

    A container that exists already is started, not recreated, like the driver's
    `recreate: false`.
    """
    settings = [container_settings(platform) for platform in platforms]
    for network in networks_of(platforms):
        _ensure_network(client, network)
    api = client.api
    for platform, setting in zip(platforms, settings, strict=True):
        try:
            client.containers.get(platform["name"]).start()
            continue
        except NotFound:
            pass
        networks = platform.get("networks", [])
        endpoints = {
            network["name"]: api.create_endpoint_config(ipv4_address=network.get("ipv4_address"))
            for network in networks[:1]
        }
        created = api.create_container(
            **setting["container"],
            host_config=api.create_host_config(**setting["host"]),
            networking_config=api.create_networking_config(endpoints) if endpoints else None,
        )
        for network in networks[1:]:
            api.connect_container_to_network(
                created["Id"], network["name"], ipv4_address=network.get("ipv4_address")
            )
        api.start(created["Id"])


def destroy(client: docker.DockerClient, platforms: list[dict[str, Any]]) -> None:
    """Remove the containers with their anonymous volumes (kept only with keep_volumes:
    true; the driver kept them by default, and they piled up), then the networks a create
    made."""
    for platform in platforms:
        try:
            container = client.containers.get(platform["name"])
        except NotFound:
            continue
        container.remove(force=True, v=not platform.get("keep_volumes", False))
    for network in networks_of(platforms):
        for found in _named(client, network["name"]):
            if found.attrs.get("Labels", {}).get("owner") == LABELS["owner"]:
                found.remove()


def main(argv: list[str]) -> int:
    actions = {"create": create, "destroy": destroy}
    if len(argv) != 2 or argv[1] not in actions:
        print("usage: platforms.py create|destroy < platforms.json", file=sys.stderr)
        return 2
    platforms = json.load(sys.stdin)
    try:
        actions[argv[1]](docker.from_env(), platforms)
    except PlatformError as error:
        print(f"platforms.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
