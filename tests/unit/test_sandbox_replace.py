"""`sandbox replace`: what can be checked without Docker (the e2e test boots the node)."""

from __future__ import annotations

import re
from ipaddress import IPv4Address

import pytest

from gpucluster.cli import build_parser
from gpucluster.commands import sandbox
from gpucluster.inventory.values import is_mac
from gpucluster.sandbox.layout import gpu_node, initial_nodes, node_named
from gpucluster.sandbox.nodes import new_mac


def test_a_replaced_node_keeps_the_addresses_its_name_gives_it() -> None:
    for node in initial_nodes(3):
        assert node_named(node.name) == node
    assert node_named("gpu17") == gpu_node("gpu17")
    assert node_named("fs01").address == IPv4Address("10.221.0.13")
    with pytest.raises(ValueError, match=re.escape("gpu01..gpu150")):
        node_named("db01")


def test_new_macs_are_local_unicast_and_not_docker_s() -> None:
    macs = {new_mac() for _ in range(50)}
    assert len(macs) == 50
    for mac in macs:
        assert re.fullmatch(r"02:9c(:[0-9a-f]{2}){4}", mac) and is_mac(mac)


def test_the_parser_knows_sandbox_replace() -> None:
    args = build_parser().parse_args(["sandbox", "replace", "gpu01"])
    assert (args.sandbox_action, args.name) == ("replace", "gpu01")
    assert args.handler is sandbox.run and "replace" in sandbox.ACTIONS
    assert getattr(args, "lock", None) is None  # the sandbox takes no inventory lock
