"""The rules about nodes, groups, networks and cluster identity.

Each rule is a small function from a `RawInventory` to the problems it finds, so a rule can be
read, tested and named on its own; `validate` runs them all, in a fixed order. The rules about
people and projects are in people_rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from gpucluster.inventory.problems import Problem
from gpucluster.inventory.raw import RawHost, RawInventory, sub_value
from gpucluster.inventory.values import (
    HOST_FIELDS,
    MTU_RANGE,
    NODE_GROUPS,
    RESERVED_HOST_NAMES,
    is_interface_name,
    is_label,
    is_mac,
    parse_address,
    parse_network,
    show,
)
from gpucluster.untrusted import template_problems

# A plain scalar that YAML 1.1 (the parser Ansible uses) reads as a base-60 integer.
_YAML11_SEXAGESIMAL = re.compile(r"[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+")


def _at(line: int | None) -> str:
    return "" if line is None else f" (line {line})"


# --- rules ----------------------------------------------------------------------------------

Rule = Callable[[RawInventory], Iterator[Problem]]


def _file_order_then_new(hosts: Iterable[RawHost]) -> list[RawHost]:
    """Hosts from the file in file order, then hosts added in memory.

    Rules about a clash report the later of the two hosts; ordering this way makes that the
    newly added node, so `add-node` problems point at what the operator just typed.
    """
    return sorted(hosts, key=lambda host: host.line is None)


def _host_problem(inv: RawInventory, host: RawHost, field: str | None, message: str) -> Problem:
    """A problem about one host, located where the field is set (hosts file or host_vars)."""
    raw = host.fields.get(field) if field is not None else None
    if raw is not None:
        return Problem(raw.file, raw.line, host.label, field, message)
    return Problem(inv.hosts_file, host.line, host.label, field, message)


def _address(host: RawHost, field: str) -> IPv4Address | None:
    raw = host.fields.get(field)
    return parse_address(raw.value) if raw is not None else None


def _network_var(inv: RawInventory, name: str) -> IPv4Network | None:
    cidr = sub_value(inv.cluster_vars.get(name), "cidr")
    return parse_network(cidr.value) if cidr is not None else None


def _missing_var_file(inv: RawInventory) -> Path:
    """Where to point for a cluster variable nobody set: group_vars when there is one."""
    return inv.vars_files[0] if inv.vars_files else inv.hosts_file


def unknown_groups(inv: RawInventory) -> Iterator[Problem]:
    """A child of `all` that is not a node group is almost always a typo."""
    for group in inv.groups:
        if group.name not in NODE_GROUPS:
            yield Problem(
                inv.hosts_file,
                group.line,
                None,
                None,
                f"unknown group {group.name}: the node groups are {', '.join(NODE_GROUPS)}",
            )


def required_groups(inv: RawInventory) -> Iterator[Problem]:
    """Every node group must be present and have at least one host."""
    if not inv.groups_readable:
        return
    present = {group.name: group for group in inv.groups}
    for name in NODE_GROUPS:
        group = present.get(name)
        if group is None:
            yield Problem(
                inv.hosts_file,
                inv.children_line,
                None,
                None,
                f"missing group {name}: a cluster needs at least one {name} node",
            )
        elif group.host_count == 0:
            yield Problem(
                inv.hosts_file,
                group.line,
                None,
                None,
                f"group {name} has no hosts: a cluster needs at least one {name} node",
            )


def hosts_in_one_group(inv: RawInventory) -> Iterator[Problem]:
    """Ansible would merge a host listed in two groups into one node with two roles."""
    first: dict[str, RawHost] = {}
    for host in _file_order_then_new(inv.hosts):
        earlier = first.setdefault(host.label, host)
        if earlier is not host and earlier.group != host.group:
            yield _host_problem(
                inv,
                host,
                None,
                f"listed in group {host.group} and also in group {earlier.group}"
                f"{_at(earlier.line)}: a node belongs to exactly one group",
            )


def host_names(inv: RawInventory) -> Iterator[Problem]:
    """Host names become DNS names and Kubernetes node names, so they must be RFC 1123 labels,
    and Ansible must read them as one host: not a group, `all`, `ungrouped` or `localhost`."""
    group_names = {group.name for group in inv.groups} | set(NODE_GROUPS)
    for host in inv.hosts:
        if host.name in RESERVED_HOST_NAMES or host.name in group_names:
            what = "a group" if host.name in group_names else "a name Ansible reserves"
            yield _host_problem(
                inv,
                host,
                None,
                f"{host.label} is {what}: Ansible would read it as a host pattern, "
                "not as this node; choose another name",
            )
        elif not is_label(host.name):
            yield _host_problem(
                inv,
                host,
                None,
                f"malformed host name {show(host.name)}: use lowercase letters, digits and '-', "
                "1-63 characters, not starting or ending with '-' (an RFC 1123 label)",
            )


def required_host_fields(inv: RawInventory) -> Iterator[Problem]:
    """Every node needs its management and storage addresses."""
    needs = {
        "ansible_host": "the address Ansible reaches the node on",
        "storage_address": "the node's address on the storage network",
    }
    for host in inv.hosts:
        for field, what in needs.items():
            if field not in host.fields:
                yield _host_problem(inv, host, field, f"missing: every node needs {what}")


def host_addresses_well_formed(inv: RawInventory) -> Iterator[Problem]:
    """Addresses must be IPv4 addresses, not host names: the roles write them into config."""
    for host in inv.hosts:
        for field in ("ansible_host", "storage_address"):
            raw = host.fields.get(field)
            if raw is not None and parse_address(raw.value) is None:
                yield _host_problem(inv, host, field, f"{show(raw.value)} is not an IPv4 address")


def unique_addresses(inv: RawInventory) -> Iterator[Problem]:
    """No address may be used twice, as management or storage address of any node."""
    owners: dict[IPv4Address, tuple[RawHost, str]] = {}
    for host in _file_order_then_new(inv.hosts):
        for field in ("ansible_host", "storage_address"):
            address = _address(host, field)
            if address is None:
                continue
            owner = owners.setdefault(address, (host, field))
            if owner == (host, field):
                continue
            other, other_field = owner
            if other is not host and other.label == host.label:
                continue  # one host listed in two groups: hosts_in_one_group reports it
            if other is host:
                message = f"{address} is also this host's {other_field}: each NIC needs its own"
            else:
                message = f"{address} is already the {other_field} of host {other.label}"
            yield _host_problem(inv, host, field, message)


def addresses_in_networks(inv: RawInventory) -> Iterator[Problem]:
    """Addresses must lie in their network, or the node cannot be reached on it."""
    checks = (("ansible_host", "management_network"), ("storage_address", "storage_network"))
    for field, network_name in checks:
        network = _network_var(inv, network_name)
        if network is None:
            continue
        for host in inv.hosts:
            address = _address(host, field)
            if address is not None and address not in network:
                yield _host_problem(
                    inv, host, field, f"{address} is not in {network_name} {network}"
                )


def no_network_or_broadcast_address(inv: RawInventory) -> Iterator[Problem]:
    """A network's own address and its broadcast address cannot be given to a NIC."""
    checks = (("ansible_host", "management_network"), ("storage_address", "storage_network"))
    for field, network_name in checks:
        network = _network_var(inv, network_name)
        if network is None or network.prefixlen >= 31:  # /31 and /32 have no such addresses
            continue
        reserved = {
            network.network_address: "network",
            network.broadcast_address: "broadcast",
        }
        for host in inv.hosts:
            address = _address(host, field)
            if address in reserved:
                yield _host_problem(
                    inv,
                    host,
                    field,
                    f"{address} is the {reserved[address]} address of {network_name} {network}",
                )


def cluster_identity(inv: RawInventory) -> Iterator[Problem]:
    """`cluster_name` and `cluster_domain` name every node in DNS and in certificates."""
    name = inv.cluster_vars.get("cluster_name")
    if name is None:
        yield Problem(
            _missing_var_file(inv), None, None, "cluster_name", "missing: set a DNS label"
        )
    elif not is_label(name.value):
        yield Problem(
            name.file,
            name.line,
            None,
            "cluster_name",
            f"{show(name.value)} is not a DNS label (lowercase letters, digits and '-', "
            "1-63 characters, not starting or ending with '-')",
        )
    domain = inv.cluster_vars.get("cluster_domain")
    if domain is None:
        yield Problem(
            _missing_var_file(inv), None, None, "cluster_domain", "missing: set a DNS name"
        )
    elif not (
        isinstance(domain.value, str)
        and len(domain.value) <= 253
        and all(is_label(label) for label in domain.value.split("."))
    ):
        yield Problem(
            domain.file,
            domain.line,
            None,
            "cluster_domain",
            f"{show(domain.value)} is not a DNS name (lowercase labels separated by dots, "
            "such as ml.internal)",
        )


def _cidr_problem(inv: RawInventory, name: str) -> Problem | None:
    network = inv.cluster_vars.get(name)
    if network is None:
        return None
    if not isinstance(network.value, Mapping):
        return Problem(network.file, network.line, None, name, "expected a mapping with `cidr:`")
    cidr = sub_value(network, "cidr")
    if cidr is None:
        return Problem(network.file, network.line, None, f"{name}.cidr", "missing")
    if parse_network(cidr.value) is None:
        return Problem(
            cidr.file,
            cidr.line,
            None,
            f"{name}.cidr",
            f"{show(cidr.value)} is not an IPv4 network in CIDR form with no host bits set "
            "(such as 10.20.0.0/24)",
        )
    return None


def networks_well_formed(inv: RawInventory) -> Iterator[Problem]:
    """The storage network is required; the management network is optional; both need a CIDR."""
    if "storage_network" not in inv.cluster_vars:
        yield Problem(
            _missing_var_file(inv),
            None,
            None,
            "storage_network",
            "missing: set storage_network.cidr (and optionally mtu)",
        )
    for name in ("management_network", "storage_network"):
        problem = _cidr_problem(inv, name)
        if problem is not None:
            yield problem
    mtu = sub_value(inv.cluster_vars.get("storage_network"), "mtu")
    if mtu is not None and not (
        isinstance(mtu.value, int) and not isinstance(mtu.value, bool) and mtu.value in MTU_RANGE
    ):
        yield Problem(
            mtu.file,
            mtu.line,
            None,
            "storage_network.mtu",
            f"{show(mtu.value, quote_text=True)} is not an MTU: expected an integer from "
            f"{MTU_RANGE.start} to {MTU_RANGE.stop - 1}",
        )


def networks_separate(inv: RawInventory) -> Iterator[Problem]:
    """Overlapping networks would send storage traffic over the management NIC or vice versa."""
    management = _network_var(inv, "management_network")
    storage = _network_var(inv, "storage_network")
    if management is None or storage is None or not storage.overlaps(management):
        return
    cidr = sub_value(inv.cluster_vars.get("storage_network"), "cidr")
    assert cidr is not None  # storage parsed, so its cidr exists
    yield Problem(
        cidr.file,
        cidr.line,
        None,
        "storage_network.cidr",
        f"{storage} overlaps management_network {management}: the networks must be separate",
    )


def storage_nic_identifiers(inv: RawInventory) -> Iterator[Problem]:
    """`storage_mac` and `storage_interface` pick the storage NIC, so they must be usable."""
    for host in inv.hosts:
        mac = host.fields.get("storage_mac")
        if mac is not None:
            if not is_mac(mac.value):
                yield _host_problem(
                    inv,
                    host,
                    "storage_mac",
                    f"{show(mac.value)} is not a MAC address (expected aa:bb:cc:dd:ee:ff)",
                )
            elif type(mac.value) is str and _YAML11_SEXAGESIMAL.fullmatch(mac.value):
                # Round-trip loading keeps quoted strings as str subclasses: plain str = unquoted.
                yield _host_problem(
                    inv,
                    host,
                    "storage_mac",
                    f'write it in quotes ("{mac.value}"): Ansible\'s YAML 1.1 parser reads '
                    "it unquoted as a number",
                )
        interface = host.fields.get("storage_interface")
        if interface is not None and not is_interface_name(interface.value):
            yield _host_problem(
                inv,
                host,
                "storage_interface",
                f"{show(interface.value)} is not a Linux interface name "
                "(1-15 characters, no '/', ':' or whitespace)",
            )


def unique_storage_macs(inv: RawInventory) -> Iterator[Problem]:
    """Two nodes cannot own the same NIC; a repeated MAC is a copy-paste slip."""
    owners: dict[str, RawHost] = {}
    for host in _file_order_then_new(inv.hosts):
        mac = host.fields.get("storage_mac")
        if mac is None or not is_mac(mac.value):
            continue
        assert isinstance(mac.value, str)
        owner = owners.setdefault(mac.value.lower(), host)
        if owner.label != host.label:
            yield _host_problem(
                inv,
                host,
                "storage_mac",
                f"{mac.value} is already the storage_mac of host {owner.label}",
            )


def single_management_node(inv: RawInventory) -> Iterator[Problem]:
    """The control plane, LDAP server and registry live on one node for now."""
    first: RawHost | None = None
    for host in _file_order_then_new(inv.hosts):
        if host.group != "management":
            continue
        if first is None:
            first = host
            continue
        yield _host_problem(
            inv,
            host,
            None,
            f"a second management node (besides {first.label}): only one management node "
            "is supported until control-plane HA exists",
        )


def values_are_data(inv: RawInventory) -> Iterator[Problem]:
    """No value gpucluster reads or writes may hold template syntax: Ansible would run it on
    the controller (see gpucluster.untrusted)."""
    for name, raw in inv.cluster_vars.items():
        for where, line, message in template_problems(raw.value, name, raw.line):
            yield Problem(raw.file, line, None, where, message)
    for host in inv.hosts:
        for field in HOST_FIELDS:
            raw = host.fields.get(field)
            if raw is None:
                continue
            for where, line, message in template_problems(raw.value, field, raw.line):
                yield Problem(raw.file, line, host.label, where, message)


RULES: tuple[Rule, ...] = (
    values_are_data,
    unknown_groups,
    required_groups,
    hosts_in_one_group,
    host_names,
    required_host_fields,
    host_addresses_well_formed,
    unique_addresses,
    addresses_in_networks,
    no_network_or_broadcast_address,
    cluster_identity,
    networks_well_formed,
    networks_separate,
    storage_nic_identifiers,
    unique_storage_macs,
    single_management_node,
)


def validate(inv: RawInventory) -> list[Problem]:
    """Every problem every rule finds, in rule order."""
    return [problem for rule in RULES for problem in rule(inv)]
