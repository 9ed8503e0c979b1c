"""Molecule-only: nfs_client stops with one line naming the host when the
storage NIC it orders the mounts after does not exist, before changing
anything."""

from __future__ import annotations

from tests.playbook_helpers import run_role

testinfra_hosts = ["ansible://gpu"]


def test_a_missing_storage_nic_fails_before_any_change(host, inventory, tmp_path):
    units = host.check_output("sha256sum /etc/systemd/system/*.mount")
    rc, output = run_role(tmp_path, inventory.name, "nfs_client", "-e", "storage_interface=nosuch0")
    assert rc != 0
    assert (
        f"{inventory.name}: storage NIC not found: storage_interface nosuch0 does not exist"
        in output
    ), output
    assert host.check_output("sha256sum /etc/systemd/system/*.mount") == units
