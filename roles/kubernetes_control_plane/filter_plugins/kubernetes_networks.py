"""Check the Kubernetes pod and service networks against every other network.

Pods and services get their addresses from private ranges that must not
collide with each other, with the cluster's management and storage networks,
or with other ranges in use on the nodes: packets would be routed to the wrong
place. Used by the control-plane role before `kubeadm init`, by the preflight
of `gpucluster check`, and by the unit tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Network, ip_network
from itertools import combinations
from typing import Any


def _network(value: object) -> IPv4Network | None:
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        network = ip_network(value, strict=True)
    except ValueError:
        return None
    return network if isinstance(network, IPv4Network) else None


def _parse(networks: Mapping[str, Any], problems: list[str]) -> list[tuple[str, IPv4Network]]:
    parsed: list[tuple[str, IPv4Network]] = []
    for name, value in networks.items():
        if value is None or value == "":
            continue
        network = _network(value)
        if network is None:
            problems.append(
                f"{name} {value!s} is not an IPv4 network (address/prefix, no host bits)"
            )
            continue
        parsed.append((name, network))
    return parsed


def kubernetes_cidr_problems(
    kubernetes: Mapping[str, Any], others: Mapping[str, Any] | None = None
) -> list[str]:
    """One message per malformed network or overlapping pair; empty when all is well.

    `kubernetes` maps a description ("pod network (kubernetes_control_plane_pod_cidr)")
    to the pod or service CIDR; they must not overlap each other nor any of
    `others` (management, storage, reserved ranges). Entries whose value is None
    or "" are left out (a network the inventory does not define). Overlaps among
    `others` are not this check's business.
    """
    problems: list[str] = []
    ours = _parse(kubernetes, problems)
    theirs = _parse(others or {}, problems)
    for (name_a, net_a), (name_b, net_b) in combinations(ours, 2):
        if net_a.overlaps(net_b):
            problems.append(f"{name_a} {net_a} overlaps {name_b} {net_b}")
    for name_a, net_a in ours:
        for name_b, net_b in theirs:
            if net_a.overlaps(net_b):
                problems.append(f"{name_a} {net_a} overlaps {name_b} {net_b}")
    return problems


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"kubernetes_cidr_problems": kubernetes_cidr_problems}
