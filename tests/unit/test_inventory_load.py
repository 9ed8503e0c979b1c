"""Loading an inventory into the cluster model: paths, vars files, the model's API, errors."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from gpucluster.inventory import (
    NODE_GROUPS,
    Cluster,
    load_cluster,
    resolve_inventory_paths,
)
from gpucluster.inventory.problems import InventoryError, Problem
from tests.unit.conftest import EXAMPLE


def replace_once(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {file}"
    file.write_text(text.replace(old, new))


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InventoryError) as info:
        load_cluster(path)
    return [str(problem) for problem in info.value.problems]


def test_example_inventory_loads_without_problems() -> None:
    cluster = load_cluster(EXAMPLE)

    assert cluster.hosts_file == EXAMPLE / "hosts.yml"
    assert cluster.vars_files == (EXAMPLE / "group_vars" / "all.yml",)
    assert cluster.name == "ml"
    assert cluster.domain == "ml.internal"
    assert cluster.management_network == IPv4Network("10.10.0.0/24")
    assert cluster.storage_network == IPv4Network("10.20.0.0/24")
    assert cluster.storage_mtu == 9000
    assert [node.name for node in cluster.nodes] == [
        "login01",
        "mgmt01",
        "fs01",
        "backup01",
        "gpu01",
        "gpu02",
    ]
    assert {node.group for node in cluster.nodes} == set(NODE_GROUPS)


def test_node_fields_come_from_the_hosts_file() -> None:
    cluster = load_cluster(EXAMPLE)

    fs01 = cluster.node("fs01")
    assert fs01.group == "fileserver"
    assert fs01.address == IPv4Address("10.10.0.13")
    assert fs01.storage_address == IPv4Address("10.20.0.13")
    assert fs01.storage_interface == "ens2f0"
    assert fs01.storage_mac is None
    gpu01 = cluster.node("gpu01")
    assert gpu01.storage_mac == "3c:fd:fe:00:01:01"
    assert gpu01.storage_interface is None
    assert all(type(node.name) is str for node in cluster.nodes)


def test_node_and_group_lookups() -> None:
    cluster = load_cluster(EXAMPLE)

    assert [node.name for node in cluster.group("gpu")] == ["gpu01", "gpu02"]
    assert [node.name for node in cluster.group("management")] == ["mgmt01"]
    with pytest.raises(KeyError):
        cluster.node("gpu99")
    with pytest.raises(KeyError):
        cluster.group("gpus")


def test_cluster_is_immutable() -> None:
    cluster = load_cluster(EXAMPLE)
    with pytest.raises(AttributeError):
        cluster.name = "other"  # type: ignore[misc]


def test_load_from_the_hosts_file_itself_uses_its_group_vars() -> None:
    cluster = load_cluster(EXAMPLE / "hosts.yml")

    assert isinstance(cluster, Cluster)
    assert cluster.vars_files == (EXAMPLE / "group_vars" / "all.yml",)


def test_resolve_directory_and_file(inventory: Path) -> None:
    hosts = inventory / "hosts.yml"
    all_yml = inventory / "group_vars" / "all.yml"

    assert resolve_inventory_paths(inventory) == (hosts, (all_yml,))
    assert resolve_inventory_paths(hosts) == (hosts, (all_yml,))


def _into_all_directory(inventory: Path) -> Path:
    """Move group_vars/all.yml to group_vars/all/main.yml; return the directory."""
    all_dir = inventory / "group_vars" / "all"
    all_dir.mkdir()
    (inventory / "group_vars" / "all.yml").rename(all_dir / "main.yml")
    return all_dir


def test_resolve_group_vars_directory_in_name_order(inventory: Path) -> None:
    all_dir = _into_all_directory(inventory)
    (all_dir / "b.yml").write_text("x: 1\n")
    (all_dir / "a.yaml").write_text("x: 1\n")
    (all_dir / "notes.txt").write_text("not vars\n")

    _, vars_files = resolve_inventory_paths(inventory)

    assert vars_files == (all_dir / "a.yaml", all_dir / "b.yml", all_dir / "main.yml")


def test_all_yml_beside_an_all_directory_is_refused(inventory: Path) -> None:
    # Ansible reads only group_vars/all/ then: all.yml would be silently ignored.
    (inventory / "group_vars" / "all").mkdir()
    (inventory / "group_vars" / "all" / "x.yml").write_text("x: 1\n")

    with pytest.raises(InventoryError) as info:
        resolve_inventory_paths(inventory)
    assert "all.yml: Ansible ignores this file because" in str(info.value)


def test_later_vars_file_wins(inventory: Path) -> None:
    all_dir = _into_all_directory(inventory)
    (all_dir / "zz-site.yml").write_text("cluster_name: other\n")

    assert load_cluster(inventory).name == "other"


def test_cluster_vars_may_live_in_all_vars_of_the_hosts_file(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.yml"
    text = (EXAMPLE / "hosts.yml").read_text()
    vars_block = (
        "  vars:\n"
        "    cluster_name: lab\n"
        "    cluster_domain: lab.internal\n"
        "    storage_network:\n"
        "      cidr: 10.20.0.0/24\n"
    )
    hosts.write_text(text.replace("all:\n", "all:\n" + vars_block, 1))

    cluster = load_cluster(hosts)

    assert cluster.vars_files == ()
    assert (cluster.name, cluster.domain) == ("lab", "lab.internal")
    assert cluster.management_network is None
    assert cluster.storage_mtu == 1500


def test_group_vars_override_all_vars_in_the_hosts_file(inventory: Path) -> None:
    hosts = inventory / "hosts.yml"
    replace_once(hosts, "all:\n", "all:\n  vars:\n    cluster_name: fromhosts\n")

    assert load_cluster(inventory).name == "ml"


def test_missing_inventory_directory_or_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        load_cluster(tmp_path / "nowhere")
    assert str(info.value) == f"{tmp_path / 'nowhere'}: no such file or directory"

    with pytest.raises(InventoryError) as info:
        load_cluster(tmp_path)
    assert str(info.value) == f"{tmp_path / 'hosts.yml'}: no hosts.yml in this inventory directory"


def test_unreadable_file_is_a_problem(inventory: Path) -> None:
    vars_file = inventory / "group_vars" / "all.yml"
    vars_file.write_bytes(b"cluster_name: \xff\xfe\n")

    assert problems_of(inventory) == [f"{vars_file}: cannot read: not UTF-8 text"]


def test_vault_encrypted_vars_file_is_skipped(inventory: Path) -> None:
    (_into_all_directory(inventory) / "vault.yml").write_text(
        "$ANSIBLE_VAULT;1.1;AES256\n6238363435626664\n"
    )

    assert load_cluster(inventory).name == "ml"


def test_vault_tagged_values_do_not_break_loading(inventory: Path) -> None:
    vars_file = inventory / "group_vars" / "all.yml"
    vars_file.write_text(
        vars_file.read_text()
        + "ldap_admin_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3132\n"
    )

    assert load_cluster(inventory).name == "ml"


def test_problem_is_one_line_and_leaves_out_unknown_parts() -> None:
    file = Path("inventory/x/hosts.yml")

    full = Problem(
        file, 23, "gpu02", "storage_address", "10.30.0.5 is not in storage_network 10.20.0.0/24"
    )
    assert str(full) == (
        "inventory/x/hosts.yml:23: host gpu02: storage_address: "
        "10.30.0.5 is not in storage_network 10.20.0.0/24"
    )
    assert str(Problem(file, None, None, None, "empty")) == "inventory/x/hosts.yml: empty"
    assert (
        str(Problem(file, 3, None, "cluster_name", "bad"))
        == "inventory/x/hosts.yml:3: cluster_name: bad"
    )
    assert str(Problem(file, None, "gpu09", None, "two\nlines")) == (
        "inventory/x/hosts.yml: host gpu09: two lines"
    )


def test_inventory_error_lists_every_problem_one_per_line() -> None:
    first = Problem(Path("a.yml"), 1, None, None, "one")
    second = Problem(Path("a.yml"), 2, None, None, "two")

    error = InventoryError([first, second])

    assert error.problems == [first, second]
    assert str(error) == "a.yml:1: one\na.yml:2: two"
