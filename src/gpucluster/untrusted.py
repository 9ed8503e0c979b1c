"""Values a person typed are data: never a template, never bigger than a person types.

Ansible renders every string it reads from an inventory or from extra variables as a Jinja
template. A value that holds template syntax (an SSH key comment, a full name, a restore path)
would therefore run code on the operator's controller, with the operator's SSH access to
every node and the cluster's secrets, the next time any playbook reads it. gpucluster refuses
such values wherever a person's value enters: the inventory checker (which every CLI edit runs
before it writes), and the CLI's own arguments. This module is the one place that decides what
counts as template syntax and how a value is walked, so every entry point refuses the same
things with the same message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from gpucluster.yaml_lines import line_of

TEMPLATE_MARKERS: tuple[str, ...] = ("{{", "{%", "{#")
"""Jinja's expression, statement and comment openers: what makes Ansible render a string."""

MAX_DEPTH = 32
"""Nesting deeper than any real declaration; deeper input is refused, not walked."""

MAX_ITEMS = 100_000
"""Strings and containers walked in one value before it is refused as too big (alias bombs)."""

TEMPLATE_MESSAGE = (
    "holds template syntax ({{, {% or {#): values are data and are never run as templates; "
    "remove it"
)


def template_marker(text: str) -> str | None:
    """The first template opener in `text`, or None when Ansible would take it literally."""
    found = [marker for marker in TEMPLATE_MARKERS if marker in text]
    return min(found, key=text.index) if found else None


class TooComplex(ValueError):
    """A value nested deeper than MAX_DEPTH or holding more than MAX_ITEMS parts."""


def strings_in(
    value: object, path: str = "", line: int | None = None
) -> Iterator[tuple[str, str, int | None]]:
    """Every string in `value` (keys included) as (path, text, line), the path written like
    `[0].ssh_keys[1]` and the line the nearest one the YAML parser recorded.

    Shared substructures (YAML aliases) are walked once; TooComplex is raised for structures
    deeper or larger than a person writes by hand, so a hostile file cannot exhaust memory
    or recursion.
    """
    stack: list[tuple[object, str, int | None, int]] = [(value, path, line, 0)]
    seen: set[int] = set()
    count = 0
    while stack:
        current, where, at, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise TooComplex(f"nested more than {MAX_DEPTH} levels deep")
        if count > MAX_ITEMS:
            raise TooComplex(f"more than {MAX_ITEMS} values")
        if isinstance(current, str):
            yield where, current, at
            continue
        if not isinstance(current, Mapping | list | tuple):
            continue
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, Mapping):
            for key in reversed(list(current)):
                child = f"{where}.{key}" if where else str(key)
                child_line = line_of(current, key, at)
                stack.append((current[key], child, child_line, depth + 1))
                if isinstance(key, str):
                    stack.append((key, child, child_line, depth + 1))
        else:
            for index in reversed(range(len(current))):
                child_line = line_of(current, index, at)
                stack.append((current[index], f"{where}[{index}]", child_line, depth + 1))


def template_problems(
    value: object, path: str = "", line: int | None = None
) -> Iterator[tuple[str, int | None, str]]:
    """(path, line, message) for every string in `value` that Ansible would render, or for
    a value too complex to walk."""
    try:
        for where, text, at in strings_in(value, path, line):
            if template_marker(text) is not None:
                yield where, at, TEMPLATE_MESSAGE
    except TooComplex as error:
        yield path, line, f"refused: {error}"
