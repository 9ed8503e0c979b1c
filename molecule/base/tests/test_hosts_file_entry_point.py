"""Molecule-only: `tasks_from: hosts_file` on its own, as add-node and
remove-node run it on the existing nodes. It needs nothing else of the role,
adds a new node's names, removes them again, and changes nothing otherwise."""

from __future__ import annotations

from tests.playbook_helpers import run_role

testinfra_hosts = ["ansible://management"]

NEW_NODE = """\
all:
  children:
    gpu:
      hosts:
        gpu99:
          ansible_host: 10.233.0.199
          storage_address: 10.234.0.199
"""


def _recap(output: str, name: str) -> str:
    return output.split(f"{name} : ", 1)[1].split(" skipped=", 1)[0]


def test_hosts_file_entry_point_adds_and_removes_a_node(host, inventory, tmp_path):
    existing = inventory.hosts()
    limit = ["--limit", ",".join(existing)]

    extra = tmp_path / "new-node.yml"
    extra.write_text(NEW_NODE)
    rc, output = run_role(
        tmp_path, "all", "common", "-i", str(extra), *limit, tasks_from="hosts_file"
    )
    assert rc == 0, output
    for name in existing:
        assert "changed=1" in _recap(output, name), output
    assert host.check_output("getent hosts gpu99").split()[0] == "10.233.0.199"
    storage = host.check_output("getent hosts gpu99-storage.%s", inventory.domain)
    assert storage.split()[0] == "10.234.0.199"

    rc, output = run_role(tmp_path, "all", "common", *limit, tasks_from="hosts_file")
    assert rc == 0, output
    for name in existing:
        assert "changed=1" in _recap(output, name), output
    assert host.run("getent hosts gpu99").rc != 0

    rc, output = run_role(tmp_path, "all", "common", *limit, tasks_from="hosts_file")
    assert rc == 0, output
    for name in existing:
        assert "changed=0" in _recap(output, name), output
