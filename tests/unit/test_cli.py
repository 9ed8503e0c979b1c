"""The CLI's contract with operators: exit codes, one-line errors, untouched files."""

from __future__ import annotations

from pathlib import Path

import pytest

import gpucluster.inventory.edit as inventory_edit
import gpucluster.inventory.files as inventory_files
from gpucluster.cli import main


def _add_node(inventory: Path, *extra: str) -> list[str]:
    return ["add-node", "-i", str(inventory), "--edit-only", *extra]


def test_check_offline_accepts_the_example(inventory, capsys):
    assert main(["check", "--offline", "-i", str(inventory)]) == 0
    assert "valid" in capsys.readouterr().out


def test_check_offline_names_file_host_and_field(inventory, capsys):
    hosts = inventory / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("10.20.0.101", "10.99.0.101"))
    assert main(["check", "--offline", "-i", str(inventory)]) == 2
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "10.99.0.101" in line)
    assert "hosts.yml" in line and "gpu01" in line and "storage_address" in line


def test_add_node_edit_only_writes_the_new_host(inventory, capsys):
    argv = _add_node(
        inventory,
        "gpu03",
        "--group",
        "gpu",
        "--address",
        "10.10.0.103",
        "--storage-address",
        "10.20.0.103",
        "--storage-mac",
        "3c:fd:fe:00:01:03",
    )
    assert main(argv) == 0
    text = (inventory / "hosts.yml").read_text()
    assert "gpu03:" in text and "10.20.0.103" in text
    assert "# GPU nodes: add more with" in text  # the operator's comment survives


def test_add_node_reads_the_inventory_once(inventory, monkeypatch):
    """The repeat check (node_in_place) and the edit share one reading of the inventory."""
    opened = []
    open_edit = inventory_edit.Edit.open.__func__

    def counting_open(cls, path):
        opened.append(path)
        return open_edit(cls, path)

    monkeypatch.setattr(inventory_edit.Edit, "open", classmethod(counting_open))
    reads = []
    read_yaml = inventory_files.read_yaml

    def counting_read(path):
        reads.append(path.name)
        return read_yaml(path)

    monkeypatch.setattr(inventory_edit, "read_yaml", counting_read)
    argv = _add_node(
        inventory, "gpu03", "--group", "gpu", "--address", "10.10.0.103",
        "--storage-address", "10.20.0.103",
    )  # fmt: skip
    assert main(argv) == 0
    assert len(opened) == 1
    assert reads.count("hosts.yml") == 1


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["gpu01", "--address", "10.10.0.150", "--storage-address", "10.20.0.150"], "gpu01"),
        (["gpu09", "--address", "10.10.0.101", "--storage-address", "10.20.0.109"], "ansible_host"),
        (
            ["gpu09", "--address", "10.10.0.109", "--storage-address", "10.30.0.109"],
            "storage_address",
        ),
        (["gpu09", "--address", "10.10.0.999", "--storage-address", "10.20.0.109"], "ansible_host"),
        (["GPU_9", "--address", "10.10.0.109", "--storage-address", "10.20.0.109"], "GPU_9"),
    ],
)
def test_bad_add_node_changes_nothing(inventory, capsys, args, field):
    hosts = inventory / "hosts.yml"
    before = hosts.read_bytes()
    assert main(_add_node(inventory, *args[:1], "--group", "gpu", *args[1:])) == 2
    out = capsys.readouterr().out
    assert field in out and "hosts.yml" in out
    assert hosts.read_bytes() == before


def test_unknown_group_is_refused_by_the_parser(inventory):
    with pytest.raises(SystemExit) as exit_info:
        main(
            _add_node(
                inventory,
                "x1",
                "--group",
                "storage",
                "--address",
                "10.10.0.5",
                "--storage-address",
                "10.20.0.5",
            )
        )
    assert exit_info.value.code == 2


def test_remove_node_edit_only_keeps_comments(inventory):
    assert main(["remove-node", "gpu02", "--edit-only", "-i", str(inventory)]) == 0
    text = (inventory / "hosts.yml").read_text()
    assert "gpu02:" not in text and "gpu01:" in text
    assert "# GPU nodes: add more with" in text


def test_remove_node_refuses_an_unknown_node(inventory, capsys):
    hosts = inventory / "hosts.yml"
    before = hosts.read_bytes()
    assert main(["remove-node", "gpu99", "--edit-only", "-i", str(inventory)]) == 2
    assert "gpu99" in capsys.readouterr().out
    assert hosts.read_bytes() == before
