"""The node changes: add-node, remove-node and replace-node, made on top of the one safe edit.

Each function here only changes the hosts document in memory (placing a host where the
operator would have, keeping the comments around it) and says what stands in the way; reading,
validating the whole result and writing it back atomically is `edit.Edit`, shared with the
people edits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString
from ruamel.yaml.tokens import CommentToken

from gpucluster.inventory.edit import Edit
from gpucluster.inventory.load import load_cluster
from gpucluster.inventory.model import Cluster, NewNode, NodeChange
from gpucluster.inventory.problems import InventoryError, Problem
from gpucluster.inventory.raw import key_line
from gpucluster.inventory.values import NODE_GROUPS

__all__ = [
    "NewNode",
    "NodeChange",
    "add_node",
    "change_in_place",
    "change_node",
    "node_in_place",
    "remove_node",
]


def add_node(path: Path, new: NewNode, *, opened: Edit | None = None) -> Cluster:
    """Add `new` at the end of its group's hosts and return the resulting cluster.

    The whole resulting inventory is validated first; on any problem InventoryError is raised
    and the hosts file is not written at all. `opened` is the inventory as node_in_place read
    it, so that add-node reads and validates the inventory once (`path` is then not read).
    """
    edit = opened or Edit.open(path)
    edit.problems = _insert(edit, _editable_children(edit), new)
    return edit.commit()


def node_in_place(path: Path, new: NewNode, *, opened: Edit | None = None) -> str | None:
    """Whether the inventory already holds `new` exactly: a message saying so, or None.

    This is what makes a repeated add-node resume: after a failed or interrupted run the entry
    is already there, and the command goes straight to the run. None when there is no node of
    that name. A node of that name with other values raises InventoryError naming each field
    that differs (and its line), since running would provision something else than asked.
    `opened`: the inventory already read (add-node then edits that same reading).
    """
    edit = opened or Edit.open(path)
    cluster = edit.validate()
    try:
        node = cluster.node(new.name)
    except KeyError:
        return None
    have = {
        "group": node.group,
        "ansible_host": str(node.address),
        "storage_address": str(node.storage_address),
        "storage_mac": node.storage_mac,
        "storage_interface": node.storage_interface,
    }
    wanted = {
        "group": new.group,
        "ansible_host": new.address,
        "storage_address": new.storage_address,
        "storage_mac": new.storage_mac.lower() if new.storage_mac else None,
        "storage_interface": new.storage_interface,
    }
    entry, host_line = _entry_of(edit, new.name)
    problems = []
    for field, value in wanted.items():
        if value == have[field]:
            continue
        line = key_line(entry, field) if entry is not None and field in entry else host_line
        message = (
            f"already in the inventory with {field} {have[field] or 'unset'}, "
            f"the command gives {value or 'none'}: remove-node it first, or repeat the "
            "command with the inventory's values to finish adding it"
        )
        problems.append(Problem(cluster.hosts_file, line, new.name, field, message))
    if problems:
        raise InventoryError(problems)
    return f"{new.name} is already in the inventory (group {node.group}) with these values"


def _entry_of(edit: Edit, name: str) -> tuple[CommentedMap | None, int | None]:
    """The host's mapping in the hosts file and the line of its name, where they can be read."""
    for _group, hosts in _host_maps(_children(edit) or {}):
        if name in hosts:
            entry = hosts[name]
            return (entry if isinstance(entry, CommentedMap) else None), key_line(hosts, name)
    return None, None


def remove_node(path: Path, name: str) -> Cluster:
    """Remove the node `name` and return the resulting cluster (same guarantees as add_node).

    Refused when there is no such node, or when it is the last node of its group.
    """
    edit = Edit.open(path)
    edit.problems = _remove(edit, _editable_children(edit), name)
    return edit.commit()


def change_node(path: Path, change: NodeChange, *, write: bool = True) -> Cluster:
    """Set the given values of an existing node in place and return the resulting cluster.

    Same guarantees as add_node: the whole result is validated before anything is written, the
    operator's comments, order, quoting and line ends stay, and a file changed by someone else
    since it was read is not overwritten. `write=False` only validates (replace-node checks
    the edit before it touches the node's host key, and writes it after).
    """
    edit = Edit.open(path)
    edit.problems = _change(edit, _editable_children(edit), change)
    return edit.commit(write=write)


def change_in_place(path: Path, change: NodeChange) -> str | None:
    """A message when the node already has every given value (a repeat), else None.

    InventoryError, naming the hosts file, when there is no node of that name: replace-node
    keeps a node, it never adds one.
    """
    cluster = load_cluster(path)
    try:
        node = cluster.node(change.name)
    except KeyError:
        raise InventoryError([_not_a_node(cluster.hosts_file, change.name)]) from None
    have = {
        "ansible_host": str(node.address),
        "storage_address": str(node.storage_address),
        "storage_interface": node.storage_interface,
        "storage_mac": node.storage_mac,
    }
    for field, value in change.values().items():
        wanted = value.lower() if field == "storage_mac" else value
        if have[field] != wanted:
            return None
    return f"{change.name} already has these values in {cluster.hosts_file}"


def _not_a_node(hosts_file: Path, name: str) -> Problem:
    message = (
        "not in the inventory: replace-node keeps a node's name and group for new hardware; "
        "a new node is added with add-node"
    )
    return Problem(hosts_file, None, name, None, message)


# --- the hosts document's shape --------------------------------------------------------------


def _all_section(edit: Edit) -> CommentedMap | None:
    """The `all:` mapping when the hosts document has one."""
    document = edit.hosts.document
    all_ = document.get("all") if isinstance(document, CommentedMap) else None
    return all_ if isinstance(all_, CommentedMap) else None


def _children(edit: Edit) -> CommentedMap | None:
    """`all.children` when the hosts document has the expected shape, else None."""
    all_ = _all_section(edit)
    children = all_.get("children") if all_ is not None else None
    return children if isinstance(children, CommentedMap) else None


def _editable_children(edit: Edit) -> CommentedMap:
    """`all.children`, or InventoryError with the problems that make the file uneditable."""
    children = _children(edit)
    if edit.hosts.usable and not edit.hosts.encrypted and children is not None:
        return children
    edit.validate()  # raises, saying what is wrong
    raise InventoryError([Problem(edit.target, None, None, None, "no all.children to edit")])


def _host_maps(children: Mapping[object, object]) -> Iterator[tuple[str, CommentedMap]]:
    """(group, hosts mapping) for every group whose hosts can be read."""
    for group, body in children.items():
        hosts = body.get("hosts") if isinstance(body, Mapping) else None
        if isinstance(hosts, CommentedMap):
            yield str(group), hosts


def _insert(edit: Edit, children: CommentedMap, new: NewNode) -> list[Problem]:
    """Put `new` at the end of its group's hosts in memory, or say why it cannot go there."""
    if new.group not in NODE_GROUPS:
        message = f"unknown group {new.group}: the node groups are {', '.join(NODE_GROUPS)}"
        return [Problem(edit.target, None, new.name, "group", message)]
    for group, hosts in _host_maps(children):
        if new.name in hosts:
            line = key_line(hosts, new.name)
            where = f", line {line}" if line is not None else ""
            message = f"already in the inventory (group {group}{where})"
            return [Problem(edit.target, None, new.name, None, message)]
    body = children.get(new.group)
    if new.group in children and not isinstance(body, CommentedMap | None):
        return []  # a malformed group: validation reports it
    if isinstance(body, CommentedMap) and not isinstance(body.get("hosts"), CommentedMap | None):
        return []  # malformed hosts: validation reports it
    # The slot whose trailing comments (those below the group's hosts) must stay below them.
    scope: _Slot
    if new.group not in children:
        all_section = _all_section(edit)
        assert all_section is not None
        scope = (all_section, "children")
    elif body is None or "hosts" not in body:
        scope = (children, new.group)
    else:
        scope = (body, "hosts")
    before = _last_slot(*scope)
    if body is None:  # absent, or `group:` with nothing under it
        body = children[new.group] = CommentedMap()
    if body.get("hosts") is None:
        if "hosts" in body:
            body["hosts"] = CommentedMap()
        else:
            body.insert(0, "hosts", CommentedMap())
    hosts = body["hosts"]
    hosts[new.name] = _host_entry(new, _last_value(hosts))
    _move_trailing_comment(before, _last_slot(*scope))
    return []


def _host_entry(new: NewNode, like: object) -> CommentedMap:
    """The new host's variables, styled like the host before it (flow style, quoting).

    storage_mac is always quoted: Ansible's YAML 1.1 parser can read a MAC as a number.
    """
    entry = CommentedMap()
    if isinstance(like, CommentedMap) and like.fa.flow_style():
        entry.fa.set_flow_style()
    values = {
        "ansible_host": new.address,
        "storage_address": new.storage_address,
        "storage_interface": new.storage_interface,
        "storage_mac": new.storage_mac,
    }
    for field, value in values.items():
        if value is not None:
            _set_value(entry, field, value, like.get(field) if isinstance(like, Mapping) else None)
    return entry


def _set_value(entry: CommentedMap, field: str, value: str, styled_like: object) -> None:
    """Set `field`, quoted like `styled_like` (the same field of a neighbour, or its old value).

    storage_mac is always quoted: Ansible's YAML 1.1 parser can read a MAC as a number.
    """
    if field == "storage_mac":
        entry[field] = DoubleQuotedScalarString(value)
    elif isinstance(styled_like, ScalarString):
        entry[field] = type(styled_like)(value)
    else:
        entry[field] = value


def _remove(edit: Edit, children: CommentedMap, name: str) -> list[Problem]:
    """Take host `name` out of its group in memory, or say why it cannot be."""
    for group, hosts in _host_maps(children):
        if name not in hosts:
            continue
        if len(hosts) == 1 and group in NODE_GROUPS:
            message = f"the only node of group {group}: removing it would leave the group empty"
            return [Problem(edit.target, key_line(hosts, name), name, None, message)]
        keys = list(hosts)
        position = keys.index(name)
        removed = _last_slot(hosts, name)
        # Comments below the removed host belong to what follows it: keep them, below what
        # now precedes that (the previous host, or the comments above the first host).
        trailing = _take_trailing(removed)
        del hosts[name]
        if position == 0:
            _append_leading(hosts, trailing)
        else:
            _append_trailing(_last_slot(hosts, keys[position - 1]), trailing)
        return []
    return [Problem(edit.target, None, name, None, "not in the inventory")]


def _change(edit: Edit, children: CommentedMap, change: NodeChange) -> list[Problem]:
    """Set the given values in the node's own entry in memory, or say why they cannot go there.

    A value set in host_vars/<node> would override the entry (Ansible reads it last), so such a
    field is refused, naming that file: the edit would change nothing the run sees.
    """
    for _group, hosts in _host_maps(children):
        if change.name not in hosts:
            continue
        problems = _overridden(edit, change)
        if problems:
            return problems
        entry = hosts[change.name]
        if not isinstance(entry, CommentedMap | None):
            return []  # malformed: validation reports it
        before = _last_slot(hosts, change.name)
        if entry is None:  # `gpu01:` with its values elsewhere
            entry = hosts[change.name] = CommentedMap()
        for field, value in change.values().items():
            _set_value(entry, field, value, entry.get(field))
        _move_trailing_comment(before, _last_slot(hosts, change.name))
        return []
    return [_not_a_node(edit.target, change.name)]


def _overridden(edit: Edit, change: NodeChange) -> list[Problem]:
    """The given fields that the node's host_vars files set (they win over hosts.yml)."""
    hosts_file = edit.target
    problems = []
    for kind, name, parsed in edit.scoped:
        if kind != "host" or name != change.name:
            continue
        file, document = parsed.path, parsed.document
        if not isinstance(document, Mapping):
            continue
        for field in change.values():
            if field in document:
                message = (
                    f"set here, and this file overrides {hosts_file.name}, the file "
                    "replace-node edits: change or remove it here, then repeat the command"
                )
                problems.append(
                    Problem(file, key_line(document, field), change.name, field, message)
                )
    return problems


# --- keeping comments in place -------------------------------------------------------------
#
# ruamel attaches the comment lines that follow an entry to the deepest, last value before
# them. Appending a host after the last one (or removing the last one) would therefore move the
# comment above the next group down into the wrong place, or drop it. These helpers move those
# lines from the old last value to the new one.

_Slot = tuple[CommentedMap | CommentedSeq, object]


def _last_value(mapping: CommentedMap) -> object:
    return mapping[next(reversed(mapping))] if mapping else None


def _last_slot(container: CommentedMap | CommentedSeq, key: object) -> _Slot:
    """The (container, key) of the deepest last value under container[key] (block style)."""
    value = container[key]  # type: ignore[index]
    while isinstance(value, CommentedMap | CommentedSeq) and value and not value.fa.flow_style():
        container = value
        key = next(reversed(value)) if isinstance(value, CommentedMap) else len(value) - 1
        value = container[key]  # type: ignore[index]
    return container, key


def _token_index(container: CommentedMap | CommentedSeq) -> int:
    return 0 if isinstance(container, CommentedSeq) else 2


def _token(slot: _Slot) -> CommentToken | None:
    container, key = slot
    entry = container.ca.items.get(key)
    return entry[_token_index(container)] if entry else None


def _take_trailing(slot: _Slot) -> str:
    """Detach the lines after the end-of-line comment of `slot` and return them."""
    token = _token(slot)
    if token is None:
        return ""
    head, newline, tail = token.value.partition("\n")
    token.value = head + newline
    return tail


def _append_trailing(slot: _Slot, lines: str) -> None:
    """Attach `lines` below the value at `slot`, after any end-of-line comment it has."""
    if not lines:
        return
    container, key = slot
    token = _token(slot)
    if token is None:
        # A value's comment token starts with the rest of the value's line: here, nothing.
        token = CommentToken("\n", CommentMark(0))
        entry = container.ca.items.setdefault(key, [None, None, None, None])
        entry[_token_index(container)] = token
    head = token.value if token.value.endswith("\n") else token.value + "\n"
    token.value = head + lines


def _append_leading(mapping: CommentedMap, lines: str) -> None:
    """Add comment `lines` after the comments above the first entry of `mapping`."""
    if not lines:
        return
    if mapping.ca.comment is None:
        mapping.ca.comment = [None, []]
    if mapping.ca.comment[1] is None:
        mapping.ca.comment[1] = []
    for line in lines.splitlines(keepends=True):
        text = line.lstrip(" ")
        mapping.ca.comment[1].append(CommentToken(text, CommentMark(len(line) - len(text))))


def _move_trailing_comment(old: _Slot, new: _Slot) -> None:
    if (id(old[0]), old[1]) != (id(new[0]), new[1]):
        _append_trailing(new, _take_trailing(old))
