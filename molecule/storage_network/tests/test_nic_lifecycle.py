"""Molecule-only checks that would disturb a real cluster's storage traffic:
the address survives a flush (the configuration is really persistent), and a
storage NIC that does not exist stops the role with a clear message."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

testinfra_hosts = ["ansible://node-b"]

ROOT = Path(__file__).resolve().parents[3]


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
    playbook = tmp_path / "find.yml"
    playbook.write_text(
        "- name: Find\n  hosts: node-b\n  gather_facts: false\n  tasks:\n"
        "    - name: Find the NIC\n      ansible.builtin.include_role:\n"
        "        name: storage_network\n        tasks_from: find_nic\n"
    )
    env = dict(
        os.environ,
        ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
    )
    completed = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook),
         "-e", "storage_mac=02:00:00:00:99:99"],
        capture_output=True, text=True, env=env, check=False,
    )
    assert completed.returncode != 0
    output = " ".join((completed.stdout + completed.stderr).split())
    assert "node-b: storage NIC not found" in output, output
    assert "storage_mac 02:00:00:00:99:99 matches no interface" in output, output
