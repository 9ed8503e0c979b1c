"""The cluster model and how it is loaded from an inventory on disk.

The inventory is the single source of truth for the cluster (see DESIGN.md). This module turns
it into an immutable `Cluster` that the CLI can rely on: loading either succeeds with a model
built from input every rule accepted, or raises one `InventoryError` listing every problem.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.nodes import Node as YamlNode

from gpucluster.people_rules import people_problems
from gpucluster.problems import InventoryError, Problem
from gpucluster.validation import (
    DEFAULT_STORAGE_MTU,
    NODE_GROUPS,
    RawInventory,
    ScopedVars,
    check,
    parse_address,
    parse_network,
    sort_problems,
    sub_value,
)

__all__ = [
    "NODE_GROUPS",
    "Cluster",
    "InventoryError",
    "NewNode",
    "Node",
    "NodeChange",
    "ParsedFile",
    "Problem",
    "cluster_from_documents",
    "load_cluster",
    "new_yaml",
    "parse_yaml",
    "read_yaml",
    "resolve_inventory_paths",
]

HOSTS_FILE_NAME = "hosts.yml"
_VARS_SUFFIXES = (".yml", ".yaml")
# What Ansible's host_group_vars plugin reads in group_vars/ and host_vars/.
_SCOPED_SUFFIXES = ("", ".yml", ".yaml", ".json")
MAX_FILE_BYTES = 1024 * 1024
"""Larger than any inventory file a person writes; bigger input is refused unread."""
_VAULT_HEADER = "$ANSIBLE_VAULT;"


@dataclass(frozen=True)
class Node:
    """One machine of the cluster."""

    name: str
    group: str
    address: IPv4Address
    storage_address: IPv4Address
    storage_interface: str | None
    storage_mac: str | None  # lowercase


@dataclass(frozen=True)
class Cluster:
    """A validated inventory: the files it came from and the cluster they describe."""

    hosts_file: Path
    vars_files: tuple[Path, ...]
    name: str
    domain: str
    management_network: IPv4Network | None
    storage_network: IPv4Network
    storage_mtu: int
    nodes: tuple[Node, ...]

    def node(self, name: str) -> Node:
        """The node called `name`; KeyError when there is none."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def group(self, group: str) -> tuple[Node, ...]:
        """The nodes of one node group, in inventory order.

        KeyError for a name that is not a node group, so a typo in the caller fails loudly
        instead of looking like an empty group.
        """
        if group not in NODE_GROUPS:
            raise KeyError(group)
        return tuple(node for node in self.nodes if node.group == group)


@dataclass(frozen=True)
class NewNode:
    """A node to add, as the operator typed it on the command line (unvalidated strings).

    Strings, not addresses: `inventory_edit.add_node` validates them together with the rest of
    the inventory, so a bad value is reported like any other problem, naming its field.
    """

    name: str
    group: str
    address: str
    storage_address: str
    storage_interface: str | None = None
    storage_mac: str | None = None


@dataclass(frozen=True)
class NodeChange:
    """New values for a node that stays (replace-node: new hardware under an old name).

    Unvalidated strings as the operator typed them, like NewNode; None keeps the inventory's
    value. The name and group never change: they are what makes it the same node.
    """

    name: str
    address: str | None = None
    storage_address: str | None = None
    storage_interface: str | None = None
    storage_mac: str | None = None

    def values(self) -> dict[str, str]:
        """The variables to set, by their inventory names (only those given)."""
        given = {
            "ansible_host": self.address,
            "storage_address": self.storage_address,
            "storage_interface": self.storage_interface,
            "storage_mac": self.storage_mac,
        }
        return {field: value for field, value in given.items() if value is not None}


# --- reading YAML ----------------------------------------------------------------------------


def new_yaml() -> YAML:
    """The round-trip YAML configuration every inventory read (and write) goes through.

    Round-trip mode keeps line numbers for problems and comments for edits; quotes are
    preserved so an edit writes them back as they were. Duplicate keys are allowed at load
    time because `parse_yaml` finds them all beforehand, with their locations.
    """
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.allow_duplicate_keys = True
    return yaml


@dataclass(frozen=True)
class ParsedFile:
    """One YAML file as read: its text, its round-trip document and its problems.

    `usable` is False when the document could not be read at all (syntax error, unreadable
    file); the rules then cannot run on it. `encrypted` marks an ansible-vault file, whose
    contents this code cannot see and so skips.
    """

    path: Path
    text: str
    document: object
    problems: tuple[Problem, ...]
    usable: bool
    encrypted: bool = False


def _yaml_error_problem(path: Path, text: str, error: YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    position = getattr(error, "position", None)
    if line is None and isinstance(position, int):
        line = text.count("\n", 0, position) + 1
    problem = getattr(error, "problem", None)
    if problem is None:
        problem = str(error).splitlines()[0] if str(error) else type(error).__name__
    message = f"invalid YAML: {problem}"
    context = getattr(error, "context", None)
    if context:
        context_mark = getattr(error, "context_mark", None)
        context_line = context_mark.line + 1 if context_mark is not None else None
        where = f" at line {context_line}" if context_line not in (None, line) else ""
        message += f" ({context}{where})"
    return Problem(path, line, None, None, message)


def _duplicate_key_problem(
    path: Path, keys: tuple[str, ...], key: str, line: int, first: int
) -> Problem:
    if len(keys) == 4 and keys[:2] == ("all", "children") and keys[3] == "hosts":
        return Problem(
            path, line, key, None, f"listed twice in group {keys[2]} (first at line {first})"
        )
    if len(keys) == 5 and keys[:2] == ("all", "children") and keys[3] == "hosts":
        return Problem(path, line, keys[4], key, f"set twice for this host (first at line {first})")
    where = ".".join(keys) if keys else "the top level"
    return Problem(
        path, line, None, None, f"duplicate key {key} in {where} (first at line {first})"
    )


def _duplicate_keys(path: Path, root: YamlNode | None) -> list[Problem]:
    """Every key repeated within one mapping, anywhere in the document.

    The YAML loader stops at the first duplicate (or silently keeps one); walking the composed
    node tree instead finds them all and knows where each sits, e.g. in which group.
    """
    problems: list[Problem] = []
    stack: list[tuple[YamlNode, tuple[str, ...]]] = [] if root is None else [(root, ())]
    visited: set[int] = set()
    while stack:
        node, keys = stack.pop()
        if id(node) in visited:  # aliases share nodes
            continue
        visited.add(id(node))
        if isinstance(node, MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    stack.append((value_node, (*keys, "?")))
                    continue
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key != "<<":
                    identity = (str(key_node.tag), key)
                    if identity in first:
                        problems.append(
                            _duplicate_key_problem(path, keys, key, line, first[identity])
                        )
                    else:
                        first[identity] = line
                stack.append((value_node, (*keys, key)))
        elif isinstance(node, SequenceNode):
            stack.extend((item, (*keys, str(index))) for index, item in enumerate(node.value))
    return problems


def parse_yaml(path: Path, text: str) -> ParsedFile:
    """Parse `text` (the contents of `path`) into a round-trip document, collecting problems.

    The document is read from the text with "\n" line ends (so the comments it keeps carry
    no "\r"); `text` stays as read, and the writers restore its line ends (DocumentLayout).
    """
    if text.lstrip().startswith(_VAULT_HEADER):
        return ParsedFile(path, text, None, (), usable=True, encrypted=True)
    yaml = new_yaml()
    lines = text.replace("\r\n", "\n")
    try:
        duplicates = _duplicate_keys(path, yaml.compose(lines))
        document = yaml.load(lines)
    except YAMLError as error:
        return ParsedFile(path, text, None, (_yaml_error_problem(path, text, error),), False)
    except RecursionError:
        problem = Problem(path, None, None, None, "invalid YAML: nested too deeply to read")
        return ParsedFile(path, text, None, (problem,), False)
    return ParsedFile(path, text, document, tuple(duplicates), usable=True)


def read_yaml(path: Path) -> ParsedFile:
    """Read and parse one file; an unreadable file becomes a problem, not an exception.

    Only regular files up to MAX_FILE_BYTES are read: a device or a huge file named as an
    inventory file must not hang or exhaust the controller.
    """

    try:
        text = read_limited_text(path, MAX_FILE_BYTES)
    except UnreadableFile as error:
        problem = Problem(path, None, None, None, f"cannot read: {error}")
        return ParsedFile(path, "", None, (problem,), False)
    return parse_yaml(path, text)


class UnreadableFile(ValueError):
    """A file a person named that cannot be taken as text; the message says why."""


def read_limited_text(path: Path, limit: int) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes; UnreadableFile otherwise."""
    try:
        with path.open("rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                raise UnreadableFile("not a regular file")
            data = stream.read(limit + 1)
    except OSError as error:
        raise UnreadableFile(str(error.strerror)) from error
    if len(data) > limit:
        raise UnreadableFile(f"larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableFile("not UTF-8 text") from error


# --- finding the files -----------------------------------------------------------------------


def resolve_inventory_paths(path: Path) -> tuple[Path, tuple[Path, ...]]:
    """The hosts file and the cluster-wide vars files of an inventory.

    `path` is an inventory directory holding hosts.yml, or a hosts file itself. The vars files
    are the ones Ansible reads for the `all` group next to it: the files of group_vars/all/ in
    name order, or else group_vars/all.yml (or .yaml). Raises InventoryError when there is no
    hosts file, or when several of these exist (Ansible would silently use only the first).
    """
    hosts_file = path / HOSTS_FILE_NAME if path.is_dir() else path
    if not hosts_file.is_file():
        reason = (
            f"no {HOSTS_FILE_NAME} in this inventory directory"
            if path.is_dir()
            else "no such file or directory"
        )
        raise InventoryError([Problem(hosts_file, None, None, None, reason)])
    group_vars = hosts_file.parent / "group_vars"
    # Ansible takes the first of these that exists and ignores the others.
    candidates = [group_vars / "all", *(group_vars / f"all{suffix}" for suffix in _VARS_SUFFIXES)]
    present = [candidate for candidate in candidates if candidate.exists()]
    if len(present) > 1:
        raise InventoryError(
            [
                Problem(
                    ignored,
                    None,
                    None,
                    None,
                    f"Ansible ignores this file because {present[0]} exists: "
                    f"move its variables into {present[0]}",
                )
                for ignored in present[1:]
            ]
        )
    files: list[Path] = []
    if present and present[0].is_dir():
        files = sorted(child for child in present[0].iterdir() if child.suffix in _VARS_SUFFIXES)
    elif present:
        files = present
    return hosts_file, tuple(file for file in files if file.is_file())


def scoped_vars_paths(hosts_file: Path) -> list[tuple[str, str, Path]]:
    """(kind, name, file) for every group_vars/<group> and host_vars/<host> file Ansible reads
    beside the hosts file (group `all` excepted: resolve_inventory_paths covers it), in the
    order Ansible applies them. Files for groups or hosts that do not exist are harmless:
    the checker applies each file to its group's or host's nodes only."""
    found: list[tuple[str, str, Path]] = []
    for kind, folder in (("group", "group_vars"), ("host", "host_vars")):
        directory = hosts_file.parent / folder
        if not directory.is_dir():
            continue
        for entry in sorted(directory.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                name = entry.name
                files = sorted(
                    child
                    for child in entry.iterdir()
                    if child.suffix in _SCOPED_SUFFIXES and not child.name.startswith(".")
                )
            elif entry.suffix in _SCOPED_SUFFIXES:
                name, files = entry.stem if entry.suffix else entry.name, [entry]
            else:
                continue
            if kind == "group" and name == "all":
                continue
            found += [(kind, name, file) for file in files if not file.is_dir()]
    return found


def read_scoped_vars(hosts_file: Path) -> list[tuple[str, str, ParsedFile]]:
    """The group_vars/<group> and host_vars/<host> files, parsed (see scoped_vars_paths)."""
    return [(kind, name, read_yaml(file)) for kind, name, file in scoped_vars_paths(hosts_file)]


# --- building the model ----------------------------------------------------------------------


def _build(inv: RawInventory) -> Cluster:
    """The model of an inventory every rule accepted (so every value parses)."""

    def text(value: object) -> str | None:
        return None if value is None else str(value)

    nodes = []
    for host in inv.hosts:
        address = parse_address(host.fields["ansible_host"].value)
        storage_address = parse_address(host.fields["storage_address"].value)
        assert address is not None and storage_address is not None
        interface = host.fields.get("storage_interface")
        mac = host.fields.get("storage_mac")
        nodes.append(
            Node(
                name=str(host.name),
                group=host.group,
                address=address,
                storage_address=storage_address,
                storage_interface=text(interface.value) if interface else None,
                storage_mac=str(mac.value).lower() if mac else None,
            )
        )
    storage = inv.cluster_vars["storage_network"]
    storage_cidr = sub_value(storage, "cidr")
    storage_network = parse_network(storage_cidr.value) if storage_cidr else None
    assert storage_network is not None
    management_cidr = sub_value(inv.cluster_vars.get("management_network"), "cidr")
    mtu = sub_value(storage, "mtu")
    assert mtu is None or isinstance(mtu.value, int)
    return Cluster(
        hosts_file=inv.hosts_file,
        vars_files=inv.vars_files,
        name=str(inv.cluster_vars["cluster_name"].value),
        domain=str(inv.cluster_vars["cluster_domain"].value),
        management_network=parse_network(management_cidr.value) if management_cidr else None,
        storage_network=storage_network,
        storage_mtu=int(mtu.value) if mtu is not None else DEFAULT_STORAGE_MTU,
        nodes=tuple(nodes),
    )


def cluster_from_documents(
    hosts: ParsedFile, vars_files: Sequence[ParsedFile], extra_problems: Iterable[Problem] = ()
) -> Cluster:
    """Validate parsed documents and build the model, or raise with every problem found.

    Takes parsed documents rather than paths so that an edit can validate the document it is
    about to write, exactly as it will be written. `extra_problems` are ones the caller found
    (e.g. about command-line values) and are reported together with the rest.
    """
    scoped = read_scoped_vars(hosts.path)
    files = (hosts, *vars_files, *(file for _, _, file in scoped))
    problems = [*extra_problems, *(problem for file in files for problem in file.problems)]
    if hosts.encrypted:
        problems.append(
            Problem(
                hosts.path, None, None, None, "the hosts file is vault-encrypted: keep it plain"
            )
        )
    order = tuple(file.path for file in files)
    if not all(file.usable for file in files) or hosts.encrypted:
        raise InventoryError(sort_problems(problems, order))
    inventory, rule_problems = check(
        hosts.path,
        hosts.document,
        [(file.path, file.document) for file in vars_files],
        [
            ScopedVars(kind, name, file.path, file.document)
            for kind, name, file in scoped
            if not file.encrypted
        ],
    )
    problems = sort_problems([*problems, *rule_problems, *people_problems(inventory)], order)
    if problems:
        raise InventoryError(problems)
    return _build(inventory)


def load_cluster(path: Path) -> Cluster:
    """Load and validate the inventory at `path` (a directory or its hosts file).

    Raises InventoryError listing every problem found in every file, not just the first.
    """
    hosts_file, vars_files = resolve_inventory_paths(path)
    return cluster_from_documents(read_yaml(hosts_file), [read_yaml(file) for file in vars_files])
