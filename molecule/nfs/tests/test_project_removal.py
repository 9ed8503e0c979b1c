"""Molecule-only: a project dropped from cluster_projects loses its mount unit
on the clients (disabled and removed). A throwaway project is declared for
one run and dropped by the next (the scenario's own declaration), so the
declared units are never touched."""

from __future__ import annotations

import json

from tests.playbook_helpers import run_role

testinfra_hosts = ["ansible://gpu"]


def test_a_dropped_project_loses_its_mount_unit(host, inventory, tmp_path):
    client = inventory.settings()
    declared = client["nfs_client_projects"]
    extra = {"name": "dropped-later", "gid": 29999}
    unit = host.check_output(
        "systemd-escape --path --suffix=mount %s",
        f"{client['nfs_client_projects_path']}/{extra['name']}",
    )
    path = f"/etc/systemd/system/{unit}"

    rc, output = run_role(
        tmp_path,
        inventory.name,
        "nfs_client",
        "-e",
        json.dumps({"cluster_projects": [*declared, extra]}),
    )
    assert rc == 0, output
    assert host.file(path).exists
    assert host.check_output("systemctl is-enabled %s", unit) == "enabled"

    rc, output = run_role(tmp_path, inventory.name, "nfs_client")
    assert rc == 0, output
    assert not host.file(path).exists
    assert host.run("systemctl is-enabled %s", unit).stdout.strip() != "enabled"
    assert not host.file(f"/etc/systemd/system/remote-fs.target.wants/{unit}").exists
