"""The raw inventory: what the operator wrote, with the file and line of every value.

The rules check this structure rather than the finished model, so that they can report every
mistake with its location in one pass, and the model is built only from input they accepted.
Reading it also merges the variables the way Ansible does (all.vars, group_vars/all, then
group_vars/<group> and host_vars/<host> per node) and reports shape problems as it goes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gpucluster.inventory.problems import Problem
from gpucluster.inventory.values import CLUSTER_VARS, HOST_FIELDS, NODE_GROUPS, show
from gpucluster.yaml_lines import line_of

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
