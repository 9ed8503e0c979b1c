"""Every validation rule: one broken inventory each, and the one-line problem it must produce.

Each test starts from a copy of the example inventory, breaks one thing, and checks the exact
problem text, which names the file, the line when known, the host and the field.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gpucluster.inventory import load_cluster
from gpucluster.inventory.problems import InventoryError

GPU02 = (
    "        gpu02:\n"
    "          ansible_host: 10.10.0.102\n"
    "          storage_address: 10.20.0.102\n"
    '          storage_mac: "3c:fd:fe:00:01:02"\n'
)


@pytest.fixture
def vars_file(inventory: Path) -> Path:
    return inventory / "group_vars" / "all.yml"


def replace_once(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {file}"
    file.write_text(text.replace(old, new))


def append_gpu(hosts: Path, block: str) -> None:
    """Add host lines at the end of the gpu group (the last group of the example)."""
    hosts.write_text(hosts.read_text() + block)


def line_of(file: Path, needle: str, occurrence: int = 1) -> int:
    matches = [n for n, line in enumerate(file.read_text().splitlines(), 1) if needle in line]
    return matches[occurrence - 1]


def problems_of(inventory: Path) -> list[str]:
    with pytest.raises(InventoryError) as info:
        load_cluster(inventory)
    return [str(problem) for problem in info.value.problems]


# --- YAML ------------------------------------------------------------------------------------


def test_malformed_yaml_names_file_and_line(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, "storage_address: 10.20.0.102\n", "storage_address: 10.20.0.102: x\n")

    assert problems_of(inventory) == [
        f"{hosts}:38: invalid YAML: mapping values are not allowed here"
    ]


def test_malformed_yaml_in_vars_file(inventory: Path, vars_file: Path) -> None:
    replace_once(vars_file, "  mtu: 9000\n", "  mtu: [9000\n")

    (problem,) = problems_of(inventory)
    assert problem.startswith(f"{vars_file}:")
    assert "invalid YAML: " in problem
    assert "\n" not in problem


def test_malformed_yaml_in_every_file_is_reported(
    inventory: Path, hosts: Path, vars_file: Path
) -> None:
    replace_once(hosts, "storage_address: 10.20.0.102\n", "storage_address: 10.20.0.102: x\n")
    replace_once(vars_file, "cluster_name: ml\n", "cluster_name: [ml\n")

    problems = problems_of(inventory)

    assert [problem.split(":")[0] for problem in problems] == [str(hosts), str(vars_file)]


def test_same_host_twice_in_a_group(inventory: Path, hosts: Path) -> None:
    append_gpu(
        hosts,
        "        gpu01:\n"
        "          ansible_host: 10.10.0.103\n"
        "          storage_address: 10.20.0.103\n",
    )

    assert problems_of(inventory) == [
        f"{hosts}:40: host gpu01: listed twice in group gpu (first at line 32)"
    ]


def test_variable_set_twice_for_a_host(inventory: Path, hosts: Path) -> None:
    append_gpu(hosts, "          ansible_host: 10.10.0.103\n")

    assert problems_of(inventory) == [
        f"{hosts}:40: host gpu02: ansible_host: set twice for this host (first at line 37)"
    ]


def test_duplicate_key_in_vars_file(inventory: Path, vars_file: Path) -> None:
    vars_file.write_text(vars_file.read_text() + "cluster_name: ml2\n")

    assert problems_of(inventory) == [
        f"{vars_file}:{line_of(vars_file, 'cluster_name', 2)}: duplicate key cluster_name in "
        f"the top level (first at line {line_of(vars_file, 'cluster_name')})"
    ]


# --- groups ----------------------------------------------------------------------------------


def test_unknown_group(inventory: Path, hosts: Path) -> None:
    append_gpu(
        hosts,
        "    gpus:\n      hosts:\n        gpu09:\n"
        "          ansible_host: 10.10.0.109\n          storage_address: 10.20.0.109\n",
    )

    assert problems_of(inventory) == [
        f"{hosts}:40: unknown group gpus: the node groups are login, management, fileserver, "
        "backup, gpu"
    ]


@pytest.mark.parametrize("group", ["login", "management", "fileserver", "backup"])
def test_missing_group(inventory: Path, hosts: Path, group: str) -> None:
    lines = hosts.read_text().splitlines(keepends=True)
    start = line_of(hosts, f"    {group}:") - 1
    end = start + 1
    while lines[end].startswith("      "):
        end += 1
    hosts.write_text("".join(lines[:start] + lines[end:]))

    assert problems_of(inventory) == [
        f"{hosts}:7: missing group {group}: a cluster needs at least one {group} node"
    ]


def test_missing_gpu_group(inventory: Path, hosts: Path) -> None:
    text = hosts.read_text()
    hosts.write_text(text[: text.index("    gpu:\n")])

    assert problems_of(inventory) == [
        f"{hosts}:7: missing group gpu: a cluster needs at least one gpu node"
    ]


@pytest.mark.parametrize("empty", ["hosts:", "hosts: {}"])
def test_empty_group(inventory: Path, hosts: Path, empty: str) -> None:
    replace_once(
        hosts,
        "      hosts:\n        backup01:\n          ansible_host: 10.10.0.14\n"
        "          storage_address: 10.20.0.14\n",
        f"      {empty}\n",
    )

    assert problems_of(inventory) == [
        f"{hosts}:24: group backup has no hosts: a cluster needs at least one backup node"
    ]


def test_group_with_nothing_under_it(inventory: Path, hosts: Path) -> None:
    replace_once(
        hosts,
        "    backup:\n      hosts:\n        backup01:\n          ansible_host: 10.10.0.14\n"
        "          storage_address: 10.20.0.14\n",
        "    backup:\n",
    )

    assert problems_of(inventory) == [
        f"{hosts}:24: group backup has no hosts: a cluster needs at least one backup node"
    ]


def test_host_in_two_groups_names_both(inventory: Path, hosts: Path) -> None:
    replace_once(
        hosts,
        "          storage_address: 10.20.0.11\n",
        "          storage_address: 10.20.0.11\n        gpu02:\n"
        "          ansible_host: 10.10.0.102\n          storage_address: 10.20.0.102\n",
    )

    assert problems_of(inventory) == [
        f"{hosts}:39: host gpu02: listed in group gpu and also in group login (line 13): "
        "a node belongs to exactly one group"
    ]


def test_hosts_directly_under_all(inventory: Path, hosts: Path) -> None:
    replace_once(
        hosts,
        "all:\n",
        "all:\n  hosts:\n    stray:\n      ansible_host: 10.10.0.99\n",
    )

    assert problems_of(inventory) == [
        f"{hosts}:8: host stray: listed directly under all.hosts: put it in one of the node "
        "groups (login, management, fileserver, backup, gpu)"
    ]


def test_nested_groups_are_refused(inventory: Path, hosts: Path) -> None:
    append_gpu(hosts, "      children:\n        a100:\n")

    assert problems_of(inventory) == [
        f"{hosts}:40: group gpu has children: nested groups are not supported"
    ]


def test_empty_hosts_file(inventory: Path, hosts: Path) -> None:
    hosts.write_text("---\n# nothing yet\n")

    assert problems_of(inventory) == [
        f"{hosts}: the file is empty: expected `all:` with the node groups under it"
    ]


def test_host_vars_must_be_a_mapping(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, GPU02, "        gpu02: 10.10.0.102\n")

    problems = problems_of(inventory)

    assert problems[0] == f"{hosts}:36: host gpu02: expected the host's variables as a mapping"


# --- hosts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["GPU02", "gpu_02", "-gpu02", "gpu02-", "g" * 64, "gpu.02"])
def test_malformed_host_name(inventory: Path, hosts: Path, name: str) -> None:
    replace_once(hosts, "        gpu02:\n", f"        {name}:\n")

    assert problems_of(inventory) == [
        f"{hosts}:36: host {name}: malformed host name {name}: use lowercase letters, digits "
        "and '-', 1-63 characters, not starting or ending with '-' (an RFC 1123 label)"
    ]


def test_longest_host_name_is_fine(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, "        gpu02:\n", f"        {'g' * 63}:\n")

    assert load_cluster(inventory).group("gpu")[1].name == "g" * 63


@pytest.mark.parametrize(
    ("field", "what"),
    [
        ("ansible_host", "the address Ansible reaches the node on"),
        ("storage_address", "the node's address on the storage network"),
    ],
)
def test_missing_address(inventory: Path, hosts: Path, field: str, what: str) -> None:
    value = "10.10.0.102" if field == "ansible_host" else "10.20.0.102"
    replace_once(hosts, f"          {field}: {value}\n", "")

    assert problems_of(inventory) == [
        f"{hosts}:36: host gpu02: {field}: missing: every node needs {what}"
    ]


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("10.20.0.300", "10.20.0.300"),
        ("gpu02.example", "gpu02.example"),
        ("10", "10"),
        ("", "an empty value"),
        ("010.20.0.102", "010.20.0.102"),
        ("10.20.0.0/24", "10.20.0.0/24"),
    ],
)
def test_malformed_ip_address(inventory: Path, hosts: Path, written: str, shown: str) -> None:
    replace_once(hosts, "storage_address: 10.20.0.102\n", f"storage_address: {written}\n")

    assert problems_of(inventory) == [
        f"{hosts}:38: host gpu02: storage_address: {shown} is not an IPv4 address"
    ]


def test_duplicate_ansible_host_names_both_hosts(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, "ansible_host: 10.10.0.102\n", "ansible_host: 10.10.0.101\n")

    assert problems_of(inventory) == [
        f"{hosts}:37: host gpu02: ansible_host: 10.10.0.101 is already the ansible_host of "
        "host gpu01"
    ]


def test_duplicate_storage_address_names_both_hosts(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, "storage_address: 10.20.0.102\n", "storage_address: 10.20.0.13\n")

    assert problems_of(inventory) == [
        f"{hosts}:38: host gpu02: storage_address: 10.20.0.13 is already the storage_address "
        "of host fs01"
    ]


def test_storage_address_equal_to_another_hosts_ansible_host(
    inventory: Path, hosts: Path, vars_file: Path
) -> None:
    # Without networks that keep the two apart, only the clash itself is wrong.
    replace_once(vars_file, "management_network:\n  cidr: 10.10.0.0/24\n", "")
    replace_once(vars_file, "  cidr: 10.20.0.0/24\n", "  cidr: 10.0.0.0/8\n")
    replace_once(hosts, "storage_address: 10.20.0.102\n", "storage_address: 10.10.0.11\n")

    assert problems_of(inventory) == [
        f"{hosts}:38: host gpu02: storage_address: 10.10.0.11 is already the ansible_host of "
        "host login01"
    ]


def test_storage_address_equal_to_own_ansible_host(
    inventory: Path, hosts: Path, vars_file: Path
) -> None:
    replace_once(vars_file, "management_network:\n  cidr: 10.10.0.0/24\n", "")
    replace_once(vars_file, "  cidr: 10.20.0.0/24\n", "  cidr: 10.0.0.0/8\n")
    replace_once(hosts, "storage_address: 10.20.0.102\n", "storage_address: 10.10.0.102\n")

    assert problems_of(inventory) == [
        f"{hosts}:38: host gpu02: storage_address: 10.10.0.102 is also this host's "
        "ansible_host: each NIC needs its own"
    ]


def test_ansible_host_outside_management_network(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, "ansible_host: 10.10.0.102\n", "ansible_host: 10.11.0.102\n")

    assert problems_of(inventory) == [
        f"{hosts}:37: host gpu02: ansible_host: 10.11.0.102 is not in management_network "
        "10.10.0.0/24"
    ]


def test_without_management_network_any_ansible_host_goes(
    inventory: Path, hosts: Path, vars_file: Path
) -> None:
    replace_once(vars_file, "management_network:\n  cidr: 10.10.0.0/24\n", "")
    replace_once(hosts, "ansible_host: 10.10.0.102\n", "ansible_host: 192.168.7.2\n")

    cluster = load_cluster(inventory)

    assert cluster.management_network is None
    assert str(cluster.node("gpu02").address) == "192.168.7.2"


def test_storage_address_outside_storage_network(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, "storage_address: 10.20.0.102\n", "storage_address: 10.30.0.5\n")

    assert problems_of(inventory) == [
        f"{hosts}:38: host gpu02: storage_address: 10.30.0.5 is not in storage_network 10.20.0.0/24"
    ]


@pytest.mark.parametrize(
    ("address", "kind"), [("10.20.0.0", "network"), ("10.20.0.255", "broadcast")]
)
def test_network_or_broadcast_storage_address(
    inventory: Path, hosts: Path, address: str, kind: str
) -> None:
    replace_once(hosts, "storage_address: 10.20.0.102\n", f"storage_address: {address}\n")

    assert problems_of(inventory) == [
        f"{hosts}:38: host gpu02: storage_address: {address} is the {kind} address of "
        "storage_network 10.20.0.0/24"
    ]


def test_broadcast_ansible_host(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, "ansible_host: 10.10.0.102\n", "ansible_host: 10.10.0.255\n")

    assert problems_of(inventory) == [
        f"{hosts}:37: host gpu02: ansible_host: 10.10.0.255 is the broadcast address of "
        "management_network 10.10.0.0/24"
    ]


# --- storage NIC -----------------------------------------------------------------------------


@pytest.mark.parametrize("mac", ['"3c:fd:fe:00:01"', '"3c-fd-fe-00-01-02"', '"zz:fd:fe:00:01:02"'])
def test_malformed_storage_mac(inventory: Path, hosts: Path, mac: str) -> None:
    replace_once(hosts, '"3c:fd:fe:00:01:02"', mac)

    assert problems_of(inventory) == [
        f"{hosts}:39: host gpu02: storage_mac: {mac.strip(chr(34))} is not a MAC address "
        "(expected aa:bb:cc:dd:ee:ff)"
    ]


def test_unquoted_mac_that_yaml_1_1_reads_as_a_number(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, '"3c:fd:fe:00:01:02"', "10:20:30:40:50:59")

    assert problems_of(inventory) == [
        f'{hosts}:39: host gpu02: storage_mac: write it in quotes ("10:20:30:40:50:59"): '
        "Ansible's YAML 1.1 parser reads it unquoted as a number"
    ]


def test_unquoted_mac_with_letters_is_fine(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, '"3c:fd:fe:00:01:02"', "3C:FD:FE:00:01:02")

    assert load_cluster(inventory).node("gpu02").storage_mac == "3c:fd:fe:00:01:02"


def test_duplicate_storage_mac_ignores_case(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, '"3c:fd:fe:00:01:02"', '"3C:FD:FE:00:01:01"')

    assert problems_of(inventory) == [
        f"{hosts}:39: host gpu02: storage_mac: 3C:FD:FE:00:01:01 is already the storage_mac "
        "of host gpu01"
    ]


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("ens2f0np0abcdefg", "ens2f0np0abcdefg"),  # 16 characters
        ("eth/0", "eth/0"),
        ('"eth 0"', "'eth 0'"),
        ('""', "''"),
        ("eth0:1", "eth0:1"),
        ("..", ".."),
        ("7", "7"),
    ],
)
def test_malformed_storage_interface(
    inventory: Path, hosts: Path, written: str, shown: str
) -> None:
    replace_once(hosts, "storage_interface: ens2f0\n", f"storage_interface: {written}\n")

    assert problems_of(inventory) == [
        f"{hosts}:23: host fs01: storage_interface: {shown} is not a Linux interface name "
        "(1-15 characters, no '/', ':' or whitespace)"
    ]


def test_fifteen_character_interface_is_fine(inventory: Path, hosts: Path) -> None:
    replace_once(hosts, "storage_interface: ens2f0\n", "storage_interface: enp175s0f1np1\n")

    assert load_cluster(inventory).node("fs01").storage_interface == "enp175s0f1np1"


# --- management node -------------------------------------------------------------------------


def test_only_one_management_node(inventory: Path, hosts: Path) -> None:
    replace_once(
        hosts,
        "          storage_address: 10.20.0.12\n",
        "          storage_address: 10.20.0.12\n        mgmt02:\n"
        "          ansible_host: 10.10.0.15\n          storage_address: 10.20.0.15\n",
    )

    assert problems_of(inventory) == [
        f"{hosts}:18: host mgmt02: a second management node (besides mgmt01): only one "
        "management node is supported until control-plane HA exists"
    ]


# --- cluster variables -----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "what"), [("cluster_name", "label"), ("cluster_domain", "name")])
def test_missing_cluster_name_or_domain(
    inventory: Path, vars_file: Path, name: str, what: str
) -> None:
    lines = vars_file.read_text().splitlines(keepends=True)
    vars_file.write_text("".join(line for line in lines if not line.startswith(f"{name}:")))

    assert problems_of(inventory) == [f"{vars_file}: {name}: missing: set a DNS {what}"]


@pytest.mark.parametrize("value", ["ML", "ml_cluster", "-ml", "ml.internal", "7e3"])
def test_malformed_cluster_name(inventory: Path, vars_file: Path, value: str) -> None:
    replace_once(vars_file, "cluster_name: ml\n", f"cluster_name: {value}\n")

    (problem,) = problems_of(inventory)
    assert problem.startswith(f"{vars_file}:4: cluster_name: ")
    assert "is not a DNS label" in problem


@pytest.mark.parametrize("value", ["ml..internal", "ml.internal.", "ML.Internal", "ml_x.internal"])
def test_malformed_cluster_domain(inventory: Path, vars_file: Path, value: str) -> None:
    replace_once(vars_file, "cluster_domain: ml.internal\n", f"cluster_domain: {value}\n")

    assert problems_of(inventory) == [
        f"{vars_file}:5: cluster_domain: {value} is not a DNS name (lowercase labels "
        "separated by dots, such as ml.internal)"
    ]


def test_missing_storage_network(inventory: Path, vars_file: Path) -> None:
    replace_once(vars_file, "storage_network:\n  cidr: 10.20.0.0/24\n  mtu: 9000\n", "")

    assert problems_of(inventory) == [
        f"{vars_file}: storage_network: missing: set storage_network.cidr (and optionally mtu)"
    ]


def test_storage_network_must_be_a_mapping(inventory: Path, vars_file: Path) -> None:
    replace_once(
        vars_file,
        "storage_network:\n  cidr: 10.20.0.0/24\n  mtu: 9000\n",
        "storage_network: 10.20.0.0/24\n",
    )

    assert problems_of(inventory) == [
        f"{vars_file}:{line_of(vars_file, 'storage_network:')}: storage_network: "
        "expected a mapping with `cidr:`"
    ]


def test_storage_network_without_cidr(inventory: Path, vars_file: Path) -> None:
    replace_once(vars_file, "  cidr: 10.20.0.0/24\n", "")

    assert problems_of(inventory) == [
        f"{vars_file}:{line_of(vars_file, 'storage_network:')}: storage_network.cidr: missing"
    ]


@pytest.mark.parametrize("cidr", ["10.20.0.0/33", "10.20.0.1/24", "10.20.0.0", "banana", "24"])
def test_malformed_storage_cidr(inventory: Path, vars_file: Path, cidr: str) -> None:
    replace_once(vars_file, "  cidr: 10.20.0.0/24\n", f"  cidr: {cidr}\n")

    assert problems_of(inventory) == [
        f"{vars_file}:13: storage_network.cidr: {cidr} is not an IPv4 network in CIDR form "
        "with no host bits set (such as 10.20.0.0/24)"
    ]


def test_malformed_management_cidr(inventory: Path, vars_file: Path) -> None:
    replace_once(vars_file, "  cidr: 10.10.0.0/24\n", "  cidr: 10.10.0.1/24\n")

    assert problems_of(inventory) == [
        f"{vars_file}:9: management_network.cidr: 10.10.0.1/24 is not an IPv4 network in CIDR "
        "form with no host bits set (such as 10.20.0.0/24)"
    ]


@pytest.mark.parametrize(
    ("written", "shown"), [("100", "100"), ("9217", "9217"), ('"9000"', "'9000'"), ("true", "True")]
)
def test_malformed_mtu(inventory: Path, vars_file: Path, written: str, shown: str) -> None:
    replace_once(vars_file, "  mtu: 9000\n", f"  mtu: {written}\n")

    assert problems_of(inventory) == [
        f"{vars_file}:14: storage_network.mtu: {shown} is not an MTU: expected an integer "
        "from 576 to 9216"
    ]


def test_mtu_defaults_to_1500(inventory: Path, vars_file: Path) -> None:
    replace_once(vars_file, "  mtu: 9000\n", "")

    assert load_cluster(inventory).storage_mtu == 1500


def test_overlapping_networks(inventory: Path, vars_file: Path) -> None:
    replace_once(vars_file, "  cidr: 10.10.0.0/24\n", "  cidr: 10.0.0.0/8\n")

    assert problems_of(inventory) == [
        f"{vars_file}:13: storage_network.cidr: 10.20.0.0/24 overlaps management_network "
        "10.0.0.0/8: the networks must be separate"
    ]


# --- many problems at once -------------------------------------------------------------------


def test_every_problem_is_reported_in_file_and_line_order(
    inventory: Path, hosts: Path, vars_file: Path
) -> None:
    replace_once(vars_file, "  mtu: 9000\n", "  mtu: 90000\n")
    replace_once(hosts, "storage_address: 10.20.0.102\n", "storage_address: 10.30.0.5\n")
    replace_once(hosts, "        login01:\n", "        Login01:\n")
    replace_once(hosts, "storage_interface: ens2f0\n", "storage_interface: ens2f0/x\n")

    problems = problems_of(inventory)

    assert [problem.split(": ")[0] for problem in problems] == [
        f"{hosts}:10",
        f"{hosts}:23",
        f"{hosts}:38",
        f"{vars_file}:14",
    ]
    assert "host Login01: malformed host name" in problems[0]
    assert "host fs01: storage_interface:" in problems[1]
    assert "host gpu02: storage_address: 10.30.0.5 is not in storage_network" in problems[2]
    assert "storage_network.mtu: 90000 is not an MTU" in problems[3]
