"""Molecule-only: a project dropped from cluster_projects loses its mount unit
on the clients (disabled and removed), and comes back when declared again."""

from __future__ import annotations

import json

from tests.infra.nfs_helpers import role_settings
from tests.playbook_helpers import run_role

testinfra_hosts = ["ansible://gpu"]


def _unit(host, where: str) -> str:
    return host.check_output("systemd-escape --path --suffix=mount %s", where)


def test_a_removed_project_loses_its_mount_unit(host, inventory, tmp_path):
    client = role_settings("nfs_client", inventory.vars)
    projects = client["nfs_client_projects"]
    assert len(projects) >= 2, "the scenario declares two projects"
    kept, dropped = projects[0], projects[-1]
    unit = _unit(host, f"{client['nfs_client_projects_path']}/{dropped['name']}")
    kept_unit = _unit(host, f"{client['nfs_client_projects_path']}/{kept['name']}")
    assert host.file(f"/etc/systemd/system/{unit}").exists

    rc, output = run_role(
        tmp_path, inventory.name, "nfs_client", "-e", json.dumps({"cluster_projects": [kept]})
    )
    assert rc == 0, output
    try:
        assert not host.file(f"/etc/systemd/system/{unit}").exists
        assert host.run("systemctl is-enabled %s", unit).stdout.strip() != "enabled"
        assert host.check_output("systemctl is-enabled %s", kept_unit) == "enabled"
    finally:
        rc, output = run_role(tmp_path, inventory.name, "nfs_client")
    assert rc == 0, output
    assert host.file(f"/etc/systemd/system/{unit}").exists
    assert host.check_output("systemctl is-enabled %s", unit) == "enabled"
