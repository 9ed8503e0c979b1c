"""The rules an inventory must follow, checked over a raw structure that remembers line numbers.

Validation works on what the operator wrote (strings, mappings, line numbers from the YAML
parser), not on the finished model, so that it can report every mistake with its location in
one pass and the model can be built only from input that is known to be good. Each rule is a
small function from a `RawInventory` to the problems it finds; `check` runs them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from gpucluster.problems import Problem
from gpucluster.untrusted import template_problems
from gpucluster.yaml_lines import line_of

NODE_GROUPS: tuple[str, ...] = ("login", "management", "fileserver", "backup", "gpu")
"""The node groups of a cluster. Every one must have at least one host: a cluster without a
login, management, file or backup node does not work, and a GPU cluster without GPU nodes is a
mistake worth stopping for."""

CLUSTER_VARS: tuple[str, ...] = (
    "cluster_name",
    "cluster_domain",
    "management_network",
    "storage_network",
    # People and projects (checked by gpucluster.people_rules).
    "cluster_people_group",
    "cluster_admins_group",
    "cluster_projects",
    "cluster_users",
    "cluster_people_first_id",
    # Role common's local admins: declared people must not take their names.
    "common_admin_group",
    "common_admin_users",
)
HOST_FIELDS: tuple[str, ...] = (
    "ansible_host",
    "storage_address",
    "storage_interface",
    "storage_mac",
)
"""The per-node variables gpucluster reads, checks and writes (add-node)."""
RESERVED_HOST_NAMES = frozenset({"all", "ungrouped", "localhost"})
"""Names Ansible reads as a pattern or an implicit host, never as one inventory node."""
DEFAULT_STORAGE_MTU = 1500
MTU_RANGE = range(576, 9216 + 1)

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")
# A plain scalar that YAML 1.1 (the parser Ansible uses) reads as a base-60 integer.
_YAML11_SEXAGESIMAL = re.compile(r"[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+")
_PLAIN_TEXT = re.compile(r"[^\s'\"]+")
_IFNAMSIZ = 16  # Linux interface names are at most IFNAMSIZ - 1 characters.
_GROUP_KEYS = ("hosts", "vars")


@dataclass(frozen=True)
class RawValue:
    """A value as the operator wrote it, and where."""

    value: object
    file: Path
    line: int | None


@dataclass(frozen=True)
class RawHost:
    """One host entry of a group; `line` is None for a host added in memory (not from a file)."""

    name: object
    group: str
    line: int | None
    fields: Mapping[str, RawValue]

    @property
    def label(self) -> str:
        """The name as text, for messages: a host key need not be a string in YAML."""
        return str(self.name)


@dataclass(frozen=True)
class RawGroup:
    """One child of `all.children`, known or not."""

    name: str
    line: int | None
    host_count: int


@dataclass(frozen=True)
class RawInventory:
    """The parts of the inventory documents the rules look at, with their locations.

    `groups_readable` is False when `all.children` itself could not be read; the rules about
    missing groups then stay quiet, since the structural problem already explains it.
    """

    hosts_file: Path
    vars_files: tuple[Path, ...]
    groups: tuple[RawGroup, ...]
    hosts: tuple[RawHost, ...]
    cluster_vars: Mapping[str, RawValue]
    groups_readable: bool
    children_line: int | None
    scoped_files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ScopedVars:
    """One group_vars/<group> or host_vars/<host> document: Ansible applies it to that group's
    or that host's nodes only, so the checker must read it too."""

    kind: str  # "group" or "host"
    name: str
    file: Path
    document: object


def key_line(mapping: object, key: object) -> int | None:
    """The 1-based line of `key` in a ruamel round-trip mapping, None when not from a file."""
    return line_of(mapping, key) if isinstance(mapping, Mapping) else None


def sub_value(raw: RawValue | None, key: str) -> RawValue | None:
    """`raw[key]` with its own line, or None when `raw` is not a mapping holding `key`."""
    if raw is None or not isinstance(raw.value, Mapping) or key not in raw.value:
        return None
    return RawValue(raw.value[key], raw.file, key_line(raw.value, key))


def parse_address(value: object) -> IPv4Address | None:
    """An IPv4 address written as a string, or None; YAML integers are not addresses."""
    if not isinstance(value, str):
        return None
    try:
        return IPv4Address(value)
    except ValueError:
        return None


def parse_network(value: object) -> IPv4Network | None:
    """An IPv4 network written as `address/prefix` with no host bits set, or None."""
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        return IPv4Network(value, strict=True)
    except ValueError:
        return None


def is_label(value: object) -> bool:
    """Whether `value` is an RFC 1123 label in lowercase: how node and cluster names look."""
    return isinstance(value, str) and _LABEL.fullmatch(value) is not None


def is_mac(value: object) -> bool:
    """Whether `value` is a MAC address written as six colon-separated hex pairs."""
    return isinstance(value, str) and _MAC.fullmatch(value) is not None


def is_interface_name(value: object) -> bool:
    """Whether Linux would accept `value` as a network interface name (dev_valid_name)."""
    return (
        isinstance(value, str)
        and 0 < len(value) < _IFNAMSIZ
        and value not in (".", "..")
        and not any(ch == "/" or ch == ":" or ch.isspace() for ch in value)
    )


def show(value: object, *, quote_text: bool = False) -> str:
    """A value for a message: simple strings as written, anything else so its type shows.

    `quote_text` quotes every string, for messages where being text is the mistake.
    """
    if value is None:
        return "an empty value"
    if isinstance(value, str) and not quote_text and _PLAIN_TEXT.fullmatch(value):
        return _shorten(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return _shorten(repr(str(value) if isinstance(value, str) else value))


def _shorten(text: str, limit: int = 80) -> str:
    """At most `limit` characters: a message stays one readable line whatever was typed."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _at(line: int | None) -> str:
    return "" if line is None else f" (line {line})"


# --- reading the documents into a RawInventory -------------------------------------------


class _Reader:
    """Walks the hosts document once, collecting groups, hosts and shape problems."""

    def __init__(self, hosts_file: Path) -> None:
        self.file = hosts_file
        self.problems: list[Problem] = []
        self.groups: list[RawGroup] = []
        self.hosts: list[RawHost] = []
        self.all_vars: object = None
        self.groups_readable = False
        self.children_line: int | None = None

    def report(
        self, line: int | None, message: str, host: str | None = None, field: str | None = None
    ) -> None:
        self.problems.append(Problem(self.file, line, host, field, message))

    def read(self, document: object) -> None:
        if document is None:
            self.report(None, "the file is empty: expected `all:` with the node groups under it")
            return
        if not isinstance(document, Mapping):
            self.report(None, "expected a mapping with `all:` at the top level")
            return
        for key in document:
            if key != "all":
                self.report(
                    key_line(document, key),
                    f"unexpected top-level key {show(key)}: node groups go under all.children",
                )
        if "all" not in document:
            self.report(None, "no `all:` at the top level")
            return
        self.read_all(document["all"], key_line(document, "all"))

    def read_all(self, all_: object, line: int | None) -> None:
        if not isinstance(all_, Mapping):
            self.report(line, "`all:` must be a mapping with `children:` (the node groups)")
            return
        self.children_line = line
        for key in all_:
            if key == "vars":
                self.all_vars = all_[key]
            elif key == "hosts":
                hosts = all_[key]
                for name in hosts if isinstance(hosts, Mapping) else ():
                    self.report(
                        key_line(hosts, name),
                        "listed directly under all.hosts: put it in one of the node groups "
                        f"({', '.join(NODE_GROUPS)})",
                        host=str(name),
                    )
            elif key != "children":
                self.report(
                    key_line(all_, key),
                    f"unexpected key {show(key)} under all: expected children and vars",
                )
        if "children" not in all_:
            self.report(line, "`all:` has no `children:`: the node groups go there")
            return
        children = all_["children"]
        self.children_line = key_line(all_, "children")
        if not isinstance(children, Mapping):
            self.report(self.children_line, "all.children must be a mapping of node groups")
            return
        self.groups_readable = True
        for name in children:
            self.read_group(str(name), children[name], key_line(children, name))

    def read_group(self, group: str, body: object, line: int | None) -> None:
        hosts: object = None
        if isinstance(body, Mapping):
            for key in body:
                if key == "children":
                    self.report(
                        key_line(body, key),
                        f"group {group} has children: nested groups are not supported",
                    )
                elif key not in _GROUP_KEYS:
                    self.report(
                        key_line(body, key),
                        f"unexpected key {show(key)} in group {group}: expected hosts and vars",
                    )
            hosts = body.get("hosts")
        elif body is not None:
            self.report(line, f"group {group} must be a mapping with `hosts:`")
        count = 0
        if isinstance(hosts, Mapping):
            for name in hosts:
                self.read_host(group, name, hosts[name], key_line(hosts, name))
                count += 1
        elif hosts is not None:
            self.report(
                key_line(body, "hosts"), f"hosts of group {group} must be a mapping of host names"
            )
        self.groups.append(RawGroup(group, line, count))

    def read_host(self, group: str, name: object, body: object, line: int | None) -> None:
        fields: dict[str, RawValue] = {}
        if isinstance(body, Mapping):
            for key in body:
                if isinstance(key, str):
                    fields[key] = RawValue(body[key], self.file, key_line(body, key))
                else:
                    self.report(
                        key_line(body, key),
                        f"variable name {show(key)} is not a string",
                        host=str(name),
                    )
        elif body is not None:
            self.report(line, "expected the host's variables as a mapping", host=str(name))
        self.hosts.append(RawHost(name, group, line, fields))


def _merge_scoped(
    hosts: list[RawHost], scoped: Sequence[ScopedVars], problems: list[Problem]
) -> list[RawHost]:
    """Hosts with the node variables of their group_vars/<group> and host_vars/<host> files.

    Precedence as in Ansible: group files under the host's own entry, host files over it. A
    cluster-wide variable in such a file would apply to part of the cluster only, which is
    never what the operator meant, so it is a problem.
    """
    for vars_ in scoped:
        if vars_.document is None:
            continue
        if not isinstance(vars_.document, Mapping):
            problems.append(
                Problem(vars_.file, None, None, None, "expected a mapping of variables")
            )
            continue
        for name in CLUSTER_VARS:
            if name in vars_.document:
                problems.append(
                    Problem(
                        vars_.file,
                        key_line(vars_.document, name),
                        None,
                        name,
                        "a cluster-wide variable: set it in group_vars/all, not for one "
                        f"{vars_.kind}",
                    )
                )
    merged = []
    for host in hosts:
        fields = dict(host.fields)
        for vars_ in scoped:
            applies = (vars_.kind == "group" and vars_.name == host.group) or (
                vars_.kind == "host" and vars_.name == host.label
            )
            if not applies or not isinstance(vars_.document, Mapping):
                continue
            for field in HOST_FIELDS:
                if field in vars_.document and (vars_.kind == "host" or field not in host.fields):
                    line = key_line(vars_.document, field)
                    fields[field] = RawValue(vars_.document[field], vars_.file, line)
        merged.append(RawHost(host.name, host.group, host.line, fields))
    return merged


def read_raw_inventory(
    hosts_file: Path,
    hosts_document: object,
    vars_documents: Sequence[tuple[Path, object]],
    scoped: Sequence[ScopedVars] = (),
) -> tuple[RawInventory, list[Problem]]:
    """Collect what the rules need from parsed documents, plus the shape problems found.

    Cluster variables are merged like Ansible does for the `all` group: `all.vars` in the hosts
    file first, then each group_vars file in order, a later definition replacing an earlier one.
    Node variables from group_vars/<group> and host_vars/<host> are merged into their hosts.
    """
    reader = _Reader(hosts_file)
    reader.read(hosts_document)
    problems = reader.problems
    cluster_vars: dict[str, RawValue] = {}
    sources: list[tuple[Path, object]] = [(hosts_file, reader.all_vars), *vars_documents]
    for file, document in sources:
        if document is None:
            continue
        if not isinstance(document, Mapping):
            problems.append(Problem(file, None, None, None, "expected a mapping of variables"))
            continue
        for name in CLUSTER_VARS:
            if name in document:
                cluster_vars[name] = RawValue(document[name], file, key_line(document, name))
    inventory = RawInventory(
        hosts_file=hosts_file,
        vars_files=tuple(file for file, _ in vars_documents),
        groups=tuple(reader.groups),
        hosts=tuple(_merge_scoped(reader.hosts, scoped, problems)),
        cluster_vars=cluster_vars,
        groups_readable=reader.groups_readable,
        children_line=reader.children_line,
        scoped_files=tuple(vars_.file for vars_ in scoped),
    )
    return inventory, problems


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


def check(
    hosts_file: Path,
    hosts_document: object,
    vars_documents: Sequence[tuple[Path, object]],
    scoped: Sequence[ScopedVars] = (),
) -> tuple[RawInventory, list[Problem]]:
    """Read the documents and run every rule; problems come sorted by file, then line."""
    inventory, problems = read_raw_inventory(hosts_file, hosts_document, vars_documents, scoped)
    problems += validate(inventory)
    files = (hosts_file, *inventory.vars_files, *inventory.scoped_files)
    return inventory, sort_problems(problems, files)


def sort_problems(problems: Iterable[Problem], files: Sequence[Path]) -> list[Problem]:
    """Order problems as an operator reads the files: hosts file first, then line by line.

    Problems without a line (values from the command line, missing variables) come first in
    their file; the sort is stable, so problems on one line keep the rules' order.
    """
    rank = {file: index for index, file in enumerate(files)}
    return sorted(
        problems,
        key=lambda problem: (rank.get(problem.file, len(rank)), problem.line or 0),
    )
