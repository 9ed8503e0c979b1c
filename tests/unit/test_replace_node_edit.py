"""replace-node's inventory edit: a node's MAC and addresses change in place, nothing else does.

The same guarantees as add-node's edit (comments, quoting, line ends, validation before the
write, the "changed by someone else" guard), on real files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gpucluster.inventory import NodeChange, load_cluster
from gpucluster.inventory.node_edits import change_in_place, change_node
from gpucluster.inventory.problems import InventoryError

NEW_MAC = NodeChange("gpu01", storage_mac="3C:FD:FE:00:09:01")


def test_the_mac_changes_in_place_and_nothing_else(inventory: Path, hosts: Path) -> None:
    before = hosts.read_text()

    cluster = change_node(inventory, NEW_MAC)

    assert hosts.read_text() == before.replace(
        'storage_mac: "3c:fd:fe:00:01:01"', 'storage_mac: "3C:FD:FE:00:09:01"'
    )
    assert cluster.node("gpu01").storage_mac == "3c:fd:fe:00:09:01"
    assert cluster.node("gpu01").group == "gpu"
    assert load_cluster(inventory) == cluster


def test_addresses_change_and_the_comment_above_stays(inventory: Path, hosts: Path) -> None:
    before = hosts.read_text()
    change = NodeChange("gpu01", address="10.10.0.151", storage_address="10.20.0.151")

    change_node(inventory, change)

    text = hosts.read_text()
    assert text == before.replace("10.10.0.101", "10.10.0.151").replace(
        "10.20.0.101", "10.20.0.151"
    )
    assert "        # GPU nodes: add more with `gpucluster add-node NAME --group gpu ...`\n" in text


def test_a_field_the_node_lacked_is_added_below_its_others(inventory: Path, hosts: Path) -> None:
    before = hosts.read_text()

    change_node(inventory, NodeChange("backup01", storage_mac="3c:fd:fe:00:00:14"))

    assert hosts.read_text() == before.replace(
        "          storage_address: 10.20.0.14\n",
        '          storage_address: 10.20.0.14\n          storage_mac: "3c:fd:fe:00:00:14"\n',
    )


def test_the_last_node_keeps_the_comment_below_it(inventory: Path, hosts: Path) -> None:
    hosts.write_text(hosts.read_text() + "# end of the cluster\n")
    before = hosts.read_text()

    change_node(inventory, NodeChange("gpu02", storage_interface="ens3f0"))

    assert hosts.read_text() == before.replace(
        '          storage_mac: "3c:fd:fe:00:01:02"\n',
        '          storage_mac: "3c:fd:fe:00:01:02"\n          storage_interface: ens3f0\n',
    )


def test_windows_line_ends_stay(inventory: Path, hosts: Path) -> None:
    before = hosts.read_text()
    hosts.write_bytes(before.replace("\n", "\r\n").encode())

    change_node(inventory, NEW_MAC)

    after = before.replace("3c:fd:fe:00:01:01", "3C:FD:FE:00:09:01")
    assert hosts.read_bytes() == after.replace("\n", "\r\n").encode()


def test_flow_style_and_quotes_stay(inventory: Path, hosts: Path) -> None:
    text = hosts.read_text().replace(
        "        login01:\n"
        "          ansible_host: 10.10.0.11\n"
        "          storage_address: 10.20.0.11\n",
        "        login01: {ansible_host: '10.10.0.11', storage_address: 10.20.0.11}  # desk\n",
    )
    hosts.write_text(text)

    change_node(inventory, NodeChange("login01", address="10.10.0.21"))

    assert hosts.read_text() == text.replace("'10.10.0.11'", "'10.10.0.21'")


def test_validate_only_writes_nothing(inventory: Path, hosts: Path) -> None:
    before = hosts.read_bytes()

    cluster = change_node(inventory, NEW_MAC, write=False)

    assert cluster.node("gpu01").storage_mac == "3c:fd:fe:00:09:01"
    assert hosts.read_bytes() == before


def test_an_unknown_node_is_refused_naming_file_and_host(inventory: Path, hosts: Path) -> None:
    before = hosts.read_bytes()

    for attempt in (change_node, change_in_place):
        with pytest.raises(InventoryError) as error:
            attempt(inventory, NodeChange("gpu09", storage_mac="3c:fd:fe:00:09:09"))
        line = str(error.value)
        assert line.startswith(f"{hosts}: host gpu09: not in the inventory")
        assert "add-node" in line

    assert hosts.read_bytes() == before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            NodeChange("gpu01", address="10.10.0.102"),
            # A clash names the later host of the file, and the other one: both are shown.
            "host gpu02: ansible_host: 10.10.0.102 is already the ansible_host of host gpu01",
        ),
        (
            NodeChange("gpu01", storage_mac="3c:fd:fe:00:01:02"),
            "host gpu02: storage_mac: 3c:fd:fe:00:01:02 is already the storage_mac of host gpu01",
        ),
        (
            NodeChange("gpu01", storage_address="10.30.0.101"),
            "host gpu01: storage_address: 10.30.0.101 is not in storage_network 10.20.0.0/24",
        ),
    ],
)
def test_a_bad_value_is_refused_and_changes_nothing(
    inventory: Path, hosts: Path, change: NodeChange, expected: str
) -> None:
    before = hosts.read_bytes()

    with pytest.raises(InventoryError, match=expected):
        change_node(inventory, change)

    assert hosts.read_bytes() == before


def test_a_value_host_vars_overrides_is_refused_naming_that_file(
    inventory: Path, hosts: Path
) -> None:
    host_vars = inventory / "host_vars"
    host_vars.mkdir()
    (host_vars / "gpu01.yml").write_text('---\nstorage_mac: "3c:fd:fe:00:01:01"\n')
    before = hosts.read_bytes()

    with pytest.raises(InventoryError) as error:
        change_node(inventory, NEW_MAC)

    assert str(error.value).startswith(f"{host_vars / 'gpu01.yml'}:2: host gpu01: storage_mac:")
    assert "overrides hosts.yml" in str(error.value)
    assert hosts.read_bytes() == before


def test_in_place_only_when_every_given_value_is_there(inventory: Path) -> None:
    assert change_in_place(inventory, NEW_MAC) is None
    change_node(inventory, NEW_MAC)
    assert "gpu01 already has these values" in str(change_in_place(inventory, NEW_MAC))
    assert change_in_place(inventory, NodeChange("gpu01")) is not None  # nothing given
    assert change_in_place(inventory, NodeChange("gpu01", address="10.10.0.151")) is None


def test_a_file_changed_during_the_edit_is_not_overwritten(
    inventory: Path, hosts: Path, edited_meanwhile: str
) -> None:
    with pytest.raises(InventoryError, match="changed by someone else"):
        change_node(inventory, NEW_MAC)

    assert hosts.read_text() == edited_meanwhile
