"""The sandbox writes the same kind of inventory an operator does, and it is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpucluster.inventory import load_cluster
from gpucluster.sandbox.inventory_file import SANDBOX_USERS, write_inventory
from gpucluster.sandbox.layout import gpu_node, initial_nodes


def test_sandbox_inventory_passes_validation(tmp_path: Path):
    nodes = initial_nodes(3)
    macs = {node.name: f"02:42:0a:de:00:{index:02x}" for index, node in enumerate(nodes)}
    user_keys = {
        user: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNhbmRib3gtdXNlci1rZXktZm9yLXRlc3RzLWE= t"
        for user in SANDBOX_USERS
    }
    inventory = write_inventory(
        tmp_path / "inv", tmp_path, nodes, macs, "ssh-ed25519 AAAA test", user_keys
    )
    cluster = load_cluster(inventory)
    assert "name: carol" in (inventory / "group_vars" / "all" / "people.yml").read_text()
    assert [n.name for n in cluster.group("gpu")] == ["gpu01", "gpu02", "gpu03"]
    assert cluster.storage_mtu == 9000
    assert cluster.node("gpu03").storage_mac == macs["gpu03"]


def test_gpu_node_addresses_follow_the_name():
    node = gpu_node("gpu07")
    assert (str(node.address), str(node.storage_address)) == ("10.221.0.107", "10.222.0.107")


@pytest.mark.parametrize("name", ["gpu", "gpu1", "node07", "gpu999"])
def test_gpu_node_names_are_checked(name):
    with pytest.raises(ValueError, match=r"gpu01\.\.gpu150"):
        gpu_node(name)
