"""Role storage_network: the second NIC carries its address and MTU, and jumbo
frames really cross the storage network to every other node."""

from __future__ import annotations

import ipaddress
import json

testinfra_hosts = ["ansible://all"]


def _storage_link(host, address: str) -> dict:
    links = json.loads(host.check_output("ip -j addr show"))
    found = [
        link
        for link in links
        if any(info.get("local") == address for info in link.get("addr_info", []))
    ]
    assert len(found) == 1, f"{address} is on {len(found)} interfaces"
    return found[0]


def test_storage_nic_has_its_address_prefix_and_mtu(host, inventory):
    address = str(inventory.vars["storage_address"])
    network = ipaddress.ip_network(inventory.vars["storage_network"]["cidr"])
    link = _storage_link(host, address)
    prefixes = {info["prefixlen"] for info in link["addr_info"] if info.get("local") == address}
    assert prefixes == {network.prefixlen}
    assert link["mtu"] == int(inventory.vars["storage_network"].get("mtu", 1500))


# The file each network tool reads at boot, and the unit that applies it then.
PERSISTED = {
    "/etc/systemd/network/10-gpucluster-storage.network": "systemd-networkd",
    "/etc/network/interfaces.d/gpucluster-storage": "networking",
    "/etc/netplan/60-gpucluster-storage.yaml": "systemd-networkd",
}


def test_configuration_is_persistent(host, inventory):
    present = [path for path in PERSISTED if host.file(path).exists]
    assert len(present) == 1, present
    config = host.file(present[0])
    assert config.contains(str(inventory.vars["storage_address"]).replace(".", r"\."))
    if present[0].startswith("/etc/netplan/"):
        assert config.mode == 0o600
    # The unit that applies it at boot is enabled (netplan renders for networkd).
    assert host.service(PERSISTED[present[0]]).is_enabled


def test_full_size_frames_reach_every_other_node_unfragmented(host, inventory):
    mtu = int(inventory.vars["storage_network"].get("mtu", 1500))
    payload = mtu - 28  # IPv4 + ICMP headers
    for other in inventory.hosts():
        if other == inventory.name:
            continue
        peer = str(inventory.vars_of(other)["storage_address"])
        ok = host.run("ping -M do -c 1 -W 2 -s %s %s", str(payload), peer)
        assert ok.rc == 0, f"{inventory.name} -> {other} ({peer}): {ok.stdout}{ok.stderr}"
        too_big = host.run("ping -M do -c 1 -W 2 -s %s %s", str(payload + 1), peer)
        assert too_big.rc != 0, f"a frame above MTU {mtu} left {inventory.name}"
