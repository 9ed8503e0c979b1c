"""Finding an inventory's files and reading them as YAML that remembers where things are.

Every inventory file, whether loaded for a command or read for an edit, goes through here: the
same size and type limits, the same round-trip parser (line numbers for problems, comments and
quoting for edits), the same problems for a file that cannot be read. One reader means every
message points at a line the same way, and an edit starts from exactly the bytes on disk.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.nodes import Node as YamlNode

from gpucluster.inventory.problems import InventoryError, Problem

HOSTS_FILE_NAME = "hosts.yml"
_VARS_SUFFIXES = (".yml", ".yaml")
# What Ansible's host_group_vars plugin reads in group_vars/ and host_vars/.
_SCOPED_SUFFIXES = ("", ".yml", ".yaml", ".json")
MAX_FILE_BYTES = 1024 * 1024
"""Larger than any inventory file a person writes; bigger input is refused unread."""
_VAULT_HEADER = "$ANSIBLE_VAULT;"

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
