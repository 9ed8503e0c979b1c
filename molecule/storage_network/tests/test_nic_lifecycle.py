"""Molecule-only checks that would disturb a real cluster's storage traffic:
the address survives a flush (the configuration is really persistent), and a
storage NIC that does not exist stops the role with a clear message."""

from __future__ import annotations

import time

from tests.playbook_helpers import run_role

testinfra_hosts = ["ansible://node-b"]


def test_address_comes_back_after_a_flush_and_networkd_restart(host):
    address = "10.234.0.12"
    nic = host.check_output("ip -o -4 addr show to %s | awk '{print $2}'", address)
    host.run_expect([0], "ip addr flush dev %s", nic)
    assert host.run("ip -o -4 addr show to %s", address).stdout == ""
    host.run_expect([0], "systemctl restart systemd-networkd")
    for _ in range(20):
        if host.run("ip -o -4 addr show to %s", address).stdout:
            break
        time.sleep(0.5)
    assert address in host.check_output("ip -o -4 addr show dev %s", nic)


def test_missing_nic_fails_with_host_and_field(tmp_path):
    rc, output = run_role(
        tmp_path,
        "node-b",
        "storage_network",
        "-e",
        "storage_mac=02:00:00:00:99:99",
        tasks_from="find_nic",
    )
    assert rc != 0
    assert "node-b: storage NIC not found" in output, output
    assert "storage_mac 02:00:00:00:99:99 matches no interface" in output, output
