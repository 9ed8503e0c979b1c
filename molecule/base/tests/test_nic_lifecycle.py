"""Molecule-only checks that would disturb a real cluster's storage network or
need the scenario's inventory file: the configuration really comes back after
the address is lost (per network tool), the entry point `find_nic` names the
NIC and fails clearly when it is missing, and the netplan file the role writes
for production is accepted by a real netplan (rendered, not applied)."""

from __future__ import annotations

import ipaddress
import json
import time
from pathlib import Path

import pytest

from tests.playbook_helpers import run_playbook, run_role

testinfra_hosts = ["ansible://all"]

SCENARIO = Path(__file__).resolve().parents[1]
RENDER_ROOT = "/tmp/gpucluster-render"


def _link(host, nic: str) -> dict:
    return json.loads(host.check_output("ip -j addr show dev %s", nic))[0]


def _carries(link: dict, address: str) -> bool:
    return any(info.get("local") == address for info in link.get("addr_info", []))


def test_address_and_mtu_come_back_after_they_are_lost(host, inventory):
    """Take the NIC back to a fresh server's state, then start the node's
    network tool the way boot does: the persisted configuration returns."""
    address = str(inventory.vars["storage_address"])
    mtu = int(inventory.vars["storage_network"]["mtu"])
    nic = host.check_output("ip -o -4 addr show to %s | awk '{print $2}'", address)
    assert nic, f"{address} is on no interface before the test"
    if host.file("/etc/network/interfaces.d/gpucluster-storage").exists:
        # ifupdown: forget the interface (as a power-off does), then run what
        # networking.service runs at boot.
        host.run_expect([0], "ifdown --force %s", nic)
        restart = "systemctl restart networking"
    else:
        restart = "systemctl restart systemd-networkd"
    host.run_expect([0], "ip addr flush dev %s && ip link set dev %s mtu 1500", nic, nic)
    link = _link(host, nic)
    assert not _carries(link, address) and link["mtu"] == 1500
    host.run_expect([0], restart)
    for _ in range(40):
        link = _link(host, nic)
        if _carries(link, address) and link["mtu"] == mtu:
            break
        time.sleep(0.25)
    assert _carries(link, address), f"{restart} did not bring {address} back on {nic}"
    assert link["mtu"] == mtu


def test_find_nic_names_the_storage_nic(tmp_path):
    rc, output = run_role(tmp_path, "all", "storage_network", "-v", tasks_from="find_nic")
    assert rc == 0, output
    # base-login01's NIC is found by its name, base-mgmt01's by its MAC.
    assert '"storage_network_nic": "stor0"' in output, output
    assert '"storage_network_nic_mac": "02:a0:00:00:00:12"' in output, output


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["-e", "storage_interface=nosuch0"], "storage_interface nosuch0"),
        (
            ["-e", "storage_interface=", "-e", "storage_mac=02:00:00:00:99:99"],
            "storage_mac 02:00:00:00:99:99",
        ),
    ],
    ids=["by-name", "by-mac"],
)
def test_missing_nic_fails_with_host_and_field(tmp_path, extra, field):
    rc, output = run_role(tmp_path, "all", "storage_network", *extra, tasks_from="find_nic")
    assert rc != 0
    for node in ("base-login01", "base-mgmt01"):
        assert (
            f"{node}: storage NIC not found: {field} matches no interface (interfaces: " in output
        ), output


@pytest.fixture(scope="module")
def rendered() -> str:
    """Render the netplan and networkd files on every node (render.yml)."""
    rc, output = run_playbook(SCENARIO / "render.yml")
    assert rc == 0, output
    return RENDER_ROOT


def _sections(text: str) -> dict[str, dict[str, str]]:
    """A systemd unit-style file as {section: {key: value}} (last value wins)."""
    sections: dict[str, dict[str, str]] = {}
    current = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections.setdefault(current, {})
        else:
            key, _, value = line.partition("=")
            sections[current][key] = value
    return sections


def test_netplan_file_is_accepted_by_netplan_and_means_the_same(host, inventory, rendered):
    prefix = ipaddress.ip_network(inventory.vars["storage_network"]["cidr"]).prefixlen
    address = f"{inventory.vars['storage_address']}/{prefix}"
    mtu = str(inventory.vars["storage_network"]["mtu"])
    generated = host.file(f"{rendered}/run/systemd/network/10-netplan-gpucluster-storage.network")
    assert generated.exists, "netplan generate wrote no networkd file for the storage NIC"
    netplan = _sections(generated.content_string)
    ours = _sections(
        host.file(f"{rendered}/etc/systemd/network/10-gpucluster-storage.network").content_string
    )
    assert netplan["Network"]["Address"] == ours["Network"]["Address"] == address
    assert netplan["Link"]["MTUBytes"] == ours["Link"]["MTUBytes"] == mtu
    if "storage_interface" in inventory.vars:
        assert (
            netplan["Match"]["Name"] == ours["Match"]["Name"] == inventory.vars["storage_interface"]
        )
    else:
        mac = inventory.vars["storage_mac"]
        assert ours["Match"]["MACAddress"] == mac
        # netplan 0.106+ matches the burned-in address (PermanentMACAddress).
        matched = netplan["Match"].get("MACAddress") or netplan["Match"].get("PermanentMACAddress")
        assert matched == mac
        # Matched by MAC, netplan also pins the name the NIC has now (set-name).
        link = _sections(
            host.file(
                f"{rendered}/run/systemd/network/10-netplan-gpucluster-storage.link"
            ).content_string
        )
        assert link["Link"]["Name"] == netplan["Match"]["Name"]


def test_ifupdown_refuses_a_nic_the_installer_already_configured(host, inventory, tmp_path):
    if not host.file("/etc/network/interfaces.d/gpucluster-storage").exists:
        pytest.skip(f"{inventory.name} does not use ifupdown")
    nic = inventory.vars["storage_interface"]
    original = host.file("/etc/network/interfaces").content_string
    host.run_expect(
        [0],
        "printf '\\nallow-hotplug %s\\niface %s inet dhcp\\n' >> /etc/network/interfaces",
        nic,
        nic,
    )
    try:
        rc, output = run_role(tmp_path, inventory.name, "storage_network")
    finally:
        host.run_expect([0], "printf %s > /etc/network/interfaces", original)
    assert rc != 0
    expected = (
        f"{inventory.name}: storage NIC {nic} is already configured in /etc/network/interfaces"
    )
    assert f"{expected} (lines " in output, output
