"""Adding and removing nodes: comments and order survive, rejected edits change nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gpucluster.inventory import load_cluster
from gpucluster.inventory.node_edits import NewNode, add_node, remove_node
from gpucluster.inventory.problems import InventoryError

GPU03 = NewNode(
    name="gpu03",
    group="gpu",
    address="10.10.0.103",
    storage_address="10.20.0.103",
    storage_mac="3c:fd:fe:00:01:03",
)
GPU03_LINES = (
    "        gpu03:\n"
    "          ansible_host: 10.10.0.103\n"
    "          storage_address: 10.20.0.103\n"
    '          storage_mac: "3c:fd:fe:00:01:03"\n'
)
# A hosts file with the comment and blank-line placements that trip naive YAML editing.
COMMENTED = """\
# Site inventory for the lab: a comment above the document marker.
---
# After the marker.
all:
  children:
    login:
      hosts:
        login01: {ansible_host: 10.10.0.11, storage_address: 10.20.0.11}
    management:
      hosts:
        mgmt01:
          ansible_host: 10.10.0.12  # the one control plane
          storage_address: '10.20.0.12'
    # File servers.
    fileserver:
      hosts:
        fs01:
          ansible_host: 10.10.0.13
          storage_address: 10.20.0.13

    # Backups: keep this comment right above the backup group.
    backup:
      hosts:
        backup01:
          ansible_host: 10.10.0.14
          storage_address: 10.20.0.14
        # about backup02
        backup02:
          ansible_host: 10.10.0.15
          storage_address: 10.20.0.15
        # about backup03
        backup03:
          ansible_host: 10.10.0.16
          storage_address: 10.20.0.16
    gpu:
      hosts:  # GPU nodes
        gpu01:
          ansible_host: 10.10.0.101
          storage_address: 10.20.0.101
      vars:
        gpu_vendor: nvidia
# End of inventory.
"""


@pytest.fixture
def commented(inventory: Path, hosts: Path) -> Path:
    hosts.write_text(COMMENTED)
    return inventory


def block(name: str, address: str, storage_address: str) -> str:
    """A host entry as the example writes it: the name, then its two addresses."""
    return (
        f"        {name}:\n"
        f"          ansible_host: {address}\n"
        f"          storage_address: {storage_address}\n"
    )


def insert_after(text: str, anchor: str, lines: str) -> str:
    assert text.count(anchor) == 1
    return text.replace(anchor, anchor + lines)


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name.startswith("."))


# --- add_node --------------------------------------------------------------------------------


def test_add_node_appends_lines_and_keeps_everything_else(inventory: Path, hosts: Path) -> None:
    before = hosts.read_text()

    cluster = add_node(inventory, GPU03)

    assert hosts.read_text() == before + GPU03_LINES
    assert [node.name for node in cluster.group("gpu")] == ["gpu01", "gpu02", "gpu03"]
    assert cluster.node("gpu03").storage_mac == "3c:fd:fe:00:01:03"
    assert load_cluster(inventory) == cluster


def test_add_node_to_a_group_in_the_middle(inventory: Path, hosts: Path) -> None:
    before = hosts.read_text()

    add_node(
        inventory,
        NewNode("fs02", "fileserver", "10.10.0.23", "10.20.0.23", storage_interface="ens2f1"),
    )

    assert hosts.read_text() == insert_after(
        before,
        "          storage_interface: ens2f0\n",
        "        fs02:\n"
        "          ansible_host: 10.10.0.23\n"
        "          storage_address: 10.20.0.23\n"
        "          storage_interface: ens2f1\n",
    )


def test_add_node_through_the_hosts_file_path(inventory: Path, hosts: Path) -> None:
    before = hosts.read_text()

    add_node(hosts, GPU03)

    assert hosts.read_text() == before + GPU03_LINES


def test_add_node_keeps_comments_in_place(commented: Path) -> None:
    hosts = commented / "hosts.yml"

    add_node(commented, NewNode("fs02", "fileserver", "10.10.0.23", "10.20.0.23"))
    add_node(commented, NewNode("gpu02", "gpu", "10.10.0.102", "10.20.0.102"))
    add_node(commented, NewNode("login02", "login", "10.10.0.21", "10.20.0.21"))

    expected = insert_after(
        COMMENTED,
        "          storage_address: 10.20.0.13\n",
        block("fs02", "10.10.0.23", "10.20.0.23"),
    )
    expected = insert_after(
        expected,
        "          storage_address: 10.20.0.101\n",
        "        gpu02:\n          ansible_host: 10.10.0.102\n"
        "          storage_address: 10.20.0.102\n",
    )
    expected = insert_after(
        expected,
        "        login01: {ansible_host: 10.10.0.11, storage_address: 10.20.0.11}\n",
        "        login02: {ansible_host: 10.10.0.21, storage_address: 10.20.0.21}\n",
    )
    assert hosts.read_text() == expected


def test_add_node_quotes_like_the_host_before(commented: Path) -> None:
    hosts = commented / "hosts.yml"
    text = COMMENTED.replace("storage_address: 10.20.0.101", "storage_address: '10.20.0.101'")
    hosts.write_text(text)

    add_node(commented, NewNode("gpu02", "gpu", "10.10.0.102", "10.20.0.102"))

    assert hosts.read_text() == insert_after(
        text,
        "          storage_address: '10.20.0.101'\n",
        "        gpu02:\n          ansible_host: 10.10.0.102\n"
        "          storage_address: '10.20.0.102'\n",
    )


def test_add_node_creates_hosts_under_an_empty_group(inventory: Path, hosts: Path) -> None:
    # A group without hosts is an error on its own; adding its first node repairs it.
    text = hosts.read_text()
    start = text.index("      hosts:\n        backup01:")
    end = text.index("    gpu:\n")
    hosts.write_text(text[:start] + "      hosts:\n" + text[end:])

    add_node(inventory, NewNode("backup02", "backup", "10.10.0.24", "10.20.0.24"))

    assert hosts.read_text() == text.replace(
        block("backup01", "10.10.0.14", "10.20.0.14"),
        block("backup02", "10.10.0.24", "10.20.0.24"),
    )


def test_add_node_creates_hosts_when_the_group_has_none(inventory: Path, hosts: Path) -> None:
    text = hosts.read_text()
    start = text.index("    backup:\n")
    end = text.index("    gpu:\n")
    hosts.write_text(text[:start] + "    backup:  # to do\n" + text[end:])

    add_node(inventory, NewNode("backup02", "backup", "10.10.0.24", "10.20.0.24"))

    assert (
        hosts.read_text()
        == text[:start]
        + (
            "    backup:  # to do\n"
            "      hosts:\n"
            "        backup02:\n"
            "          ansible_host: 10.10.0.24\n"
            "          storage_address: 10.20.0.24\n"
        )
        + text[end:]
    )


def test_add_node_keeps_mode(inventory: Path, hosts: Path) -> None:
    hosts.chmod(0o640)

    add_node(inventory, GPU03)

    assert stat.S_IMODE(hosts.stat().st_mode) == 0o640


def test_add_node_writes_through_a_symlink(inventory: Path, hosts: Path, tmp_path: Path) -> None:
    real = tmp_path / "real-hosts.yml"
    hosts.rename(real)
    hosts.symlink_to(real)
    before = real.read_text()

    add_node(inventory, GPU03)

    assert hosts.is_symlink()
    assert real.read_text() == before + GPU03_LINES


def test_add_node_keeps_windows_line_ends(inventory: Path, hosts: Path) -> None:
    before = hosts.read_text()
    hosts.write_bytes(before.replace("\n", "\r\n").encode())

    add_node(inventory, GPU03)

    assert hosts.read_bytes() == (before + GPU03_LINES).replace("\n", "\r\n").encode()


REJECTED = [
    pytest.param(
        NewNode("gpu03", "gpu", "10.10.0.300", "10.20.0.103"),
        "host gpu03: ansible_host: 10.10.0.300 is not an IPv4 address",
        id="bad-address",
    ),
    pytest.param(
        NewNode("gpu03", "gpu", "10.10.0.103", "10.20.1.103"),
        "host gpu03: storage_address: 10.20.1.103 is not in storage_network 10.20.0.0/24",
        id="outside-network",
    ),
    pytest.param(
        NewNode("gpu03", "gpu", "10.10.0.101", "10.20.0.103"),
        "host gpu03: ansible_host: 10.10.0.101 is already the ansible_host of host gpu01",
        id="duplicate-address",
    ),
    pytest.param(
        NewNode("gpu03", "gpu", "10.10.0.103", "10.20.0.103", storage_mac="3C:FD:FE:00:01:02"),
        "host gpu03: storage_mac: 3C:FD:FE:00:01:02 is already the storage_mac of host gpu02",
        id="duplicate-mac",
    ),
    pytest.param(
        NewNode("gpu03", "gpu", "10.10.0.103", "10.20.0.103", storage_interface="eth/0"),
        "host gpu03: storage_interface: eth/0 is not a Linux interface name "
        "(1-15 characters, no '/', ':' or whitespace)",
        id="bad-interface",
    ),
    pytest.param(
        NewNode("gpu03", "gpus", "10.10.0.103", "10.20.0.103"),
        "host gpu03: group: unknown group gpus: the node groups are login, management, "
        "fileserver, backup, gpu",
        id="unknown-group",
    ),
    pytest.param(
        NewNode("gpu02", "gpu", "10.10.0.103", "10.20.0.103"),
        "host gpu02: already in the inventory (group gpu, line 36)",
        id="duplicate-name",
    ),
    pytest.param(
        NewNode("fs01", "gpu", "10.10.0.103", "10.20.0.103"),
        "host fs01: already in the inventory (group fileserver, line 20)",
        id="name-in-other-group",
    ),
    pytest.param(
        NewNode("GPU_03", "gpu", "10.10.0.103", "10.20.0.103"),
        "host GPU_03: malformed host name GPU_03: use lowercase letters, digits and '-', "
        "1-63 characters, not starting or ending with '-' (an RFC 1123 label)",
        id="bad-name",
    ),
    pytest.param(
        NewNode("mgmt02", "management", "10.10.0.103", "10.20.0.103"),
        "host mgmt02: a second management node (besides mgmt01): only one management node "
        "is supported until control-plane HA exists",
        id="second-management",
    ),
]


@pytest.mark.parametrize(("new", "message"), REJECTED)
def test_rejected_add_leaves_the_file_untouched(
    inventory: Path, hosts: Path, new: NewNode, message: str
) -> None:
    before = hosts.read_bytes()
    mtime = hosts.stat().st_mtime_ns

    with pytest.raises(InventoryError) as info:
        add_node(inventory, new)

    # Values from the command line have no line number: the file name, host and field.
    assert [str(problem) for problem in info.value.problems] == [f"{hosts}: {message}"]
    assert hosts.read_bytes() == before
    assert hosts.stat().st_mtime_ns == mtime
    assert leftovers(inventory) == []


def test_add_reports_every_problem_of_the_new_node(inventory: Path, hosts: Path) -> None:
    with pytest.raises(InventoryError) as info:
        add_node(inventory, NewNode("gpu03", "gpu", "10.10.1.103", "10.20.0.255", "a b", "x"))

    assert {(problem.host, problem.field, problem.line) for problem in info.value.problems} == {
        ("gpu03", "ansible_host", None),
        ("gpu03", "storage_address", None),
        ("gpu03", "storage_interface", None),
        ("gpu03", "storage_mac", None),
    }


def test_add_to_an_invalid_inventory_is_refused(inventory: Path, hosts: Path) -> None:
    text = hosts.read_text().replace("ansible_host: 10.10.0.102", "ansible_host: 10.10.0.101")
    hosts.write_text(text)

    with pytest.raises(InventoryError) as info:
        add_node(inventory, GPU03)

    assert [str(problem) for problem in info.value.problems] == [
        f"{hosts}:37: host gpu02: ansible_host: 10.10.0.101 is already the ansible_host of "
        "host gpu01"
    ]
    assert hosts.read_text() == text


def test_add_to_a_file_with_a_syntax_error_is_refused(inventory: Path, hosts: Path) -> None:
    text = hosts.read_text() + "      bad: [\n"
    hosts.write_text(text)

    with pytest.raises(InventoryError) as info:
        add_node(inventory, GPU03)

    assert "invalid YAML" in str(info.value)
    assert hosts.read_text() == text


# --- atomic writes ---------------------------------------------------------------------------


def test_failed_rename_leaves_the_original_and_no_temporary_file(
    inventory: Path, hosts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = hosts.read_bytes()

    def refuse(source: object, target: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", refuse)

    with pytest.raises(OSError, match="disk on fire"):
        add_node(inventory, GPU03)

    assert hosts.read_bytes() == before
    assert leftovers(inventory) == []


def test_failed_write_leaves_the_original_and_no_temporary_file(
    inventory: Path, hosts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = hosts.read_bytes()

    def refuse(descriptor: int) -> None:
        raise OSError("no space left")

    monkeypatch.setattr(os, "fsync", refuse)

    with pytest.raises(OSError, match="no space left"):
        add_node(inventory, GPU03)

    assert hosts.read_bytes() == before
    assert leftovers(inventory) == []


def test_file_changed_during_the_edit_is_not_overwritten(
    inventory: Path, hosts: Path, edited_meanwhile: str
) -> None:
    with pytest.raises(InventoryError, match="changed by someone else"):
        add_node(inventory, GPU03)

    assert hosts.read_text() == edited_meanwhile
    assert leftovers(inventory) == []


# --- remove_node -----------------------------------------------------------------------------


def test_remove_node_round_trips(inventory: Path, hosts: Path) -> None:
    before = hosts.read_bytes()

    add_node(inventory, GPU03)
    cluster = remove_node(inventory, "gpu03")

    assert hosts.read_bytes() == before
    assert [node.name for node in cluster.group("gpu")] == ["gpu01", "gpu02"]


def test_remove_node_takes_out_only_its_lines(inventory: Path, hosts: Path) -> None:
    before = hosts.read_text()

    cluster = remove_node(inventory, "gpu01")

    assert hosts.read_text() == before.replace(
        "        gpu01:\n          ansible_host: 10.10.0.101\n"
        "          storage_address: 10.20.0.101\n"
        '          storage_mac: "3c:fd:fe:00:01:01"\n',
        "",
    )
    with pytest.raises(KeyError):
        cluster.node("gpu01")


def test_remove_node_keeps_the_comments_around_it(commented: Path) -> None:
    hosts = commented / "hosts.yml"

    remove_node(commented, "backup02")
    assert hosts.read_text() == COMMENTED.replace(
        block("backup02", "10.10.0.15", "10.20.0.15"),
        "",
    )

    remove_node(commented, "backup03")
    assert hosts.read_text() == COMMENTED.replace(
        block("backup02", "10.10.0.15", "10.20.0.15"),
        "",
    ).replace(
        block("backup03", "10.10.0.16", "10.20.0.16"),
        "",
    )


def test_remove_first_node_keeps_the_comment_below_it(commented: Path) -> None:
    hosts = commented / "hosts.yml"

    remove_node(commented, "backup01")

    assert hosts.read_text() == COMMENTED.replace(block("backup01", "10.10.0.14", "10.20.0.14"), "")


def test_add_then_remove_in_a_commented_file_round_trips(commented: Path) -> None:
    hosts = commented / "hosts.yml"

    add_node(commented, NewNode("fs02", "fileserver", "10.10.0.23", "10.20.0.23"))
    add_node(commented, NewNode("backup04", "backup", "10.10.0.17", "10.20.0.17"))
    remove_node(commented, "fs02")
    remove_node(commented, "backup04")

    assert hosts.read_text() == COMMENTED


def test_remove_unknown_node_is_refused(inventory: Path, hosts: Path) -> None:
    before = hosts.read_bytes()

    with pytest.raises(InventoryError) as info:
        remove_node(inventory, "gpu09")

    assert str(info.value) == f"{hosts}: host gpu09: not in the inventory"
    assert hosts.read_bytes() == before


def test_remove_last_node_of_a_group_is_refused(inventory: Path, hosts: Path) -> None:
    before = hosts.read_bytes()

    with pytest.raises(InventoryError) as info:
        remove_node(inventory, "backup01")

    assert str(info.value) == (
        f"{hosts}:26: host backup01: the only node of group backup: removing it would leave "
        "the group empty"
    )
    assert hosts.read_bytes() == before


def test_remove_keeps_mode(inventory: Path, hosts: Path) -> None:
    hosts.chmod(0o600)

    remove_node(inventory, "gpu02")

    assert stat.S_IMODE(hosts.stat().st_mode) == 0o600
