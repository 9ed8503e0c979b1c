"""How storage_network picks the storage NIC out of `ip -j addr` output."""

from __future__ import annotations

import importlib.util
from pathlib import Path

PLUGIN = (
    Path(__file__).resolve().parents[2]
    / "roles"
    / "storage_network"
    / "filter_plugins"
    / "storage_nic.py"
)
spec = importlib.util.spec_from_file_location("storage_nic", PLUGIN)
assert spec and spec.loader
storage_nic_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(storage_nic_module)
storage_nic = storage_nic_module.storage_nic
storage_nic_matches = storage_nic_module.storage_nic_matches

LINKS = [
    {
        "ifname": "lo",
        "address": "00:00:00:00:00:00",
        "mtu": 65536,
        "addr_info": [{"local": "127.0.0.1", "prefixlen": 8}],
    },
    {
        "ifname": "eth0",
        "address": "02:42:0a:dd:00:65",
        "mtu": 1500,
        "addr_info": [{"local": "10.221.0.101", "prefixlen": 24}],
    },
    {
        "ifname": "ens2f0",
        "address": "3C:FD:FE:00:01:01",
        "mtu": 9000,
        "addr_info": [{"local": "10.20.0.101", "prefixlen": 24}],
    },
]


def test_by_name_wins():
    assert storage_nic(LINKS, "ens2f0", "02:42:0a:dd:00:65", "10.9.9.9")["name"] == "ens2f0"


def test_by_mac_ignores_case():
    assert storage_nic(LINKS, "", "3c:fd:fe:00:01:01", "")["name"] == "ens2f0"


def test_by_current_address_when_nothing_else_is_given():
    found = storage_nic(LINKS, "", "", "10.20.0.101")
    assert found["name"] == "ens2f0" and "storage_address" in found["how"]


def test_missing_nic_names_the_field_and_lists_interfaces():
    error = storage_nic(LINKS, "", "3c:fd:fe:00:01:99", "10.20.0.101")["error"]
    assert error.startswith("storage NIC not found: storage_mac 3c:fd:fe:00:01:99 matches no")
    assert "eth0 02:42:0a:dd:00:65" in error


def test_unconfigured_nic_without_name_or_mac_is_an_error():
    assert "storage_address 10.20.0.50" in storage_nic(LINKS, "", "", "10.20.0.50")["error"]


def test_live_state_needs_both_address_and_mtu():
    assert storage_nic_matches(LINKS[2:], "10.20.0.101", 9000)
    assert not storage_nic_matches(LINKS[2:], "10.20.0.101", 1500)
    assert not storage_nic_matches(LINKS[1:2], "10.20.0.101", 9000)
