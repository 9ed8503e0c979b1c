"""Where a value stands in the file it was read from: the line the YAML parser recorded.

ruamel's round-trip containers remember the position of every key and list item; the
checker's messages point at them. One helper serves every reader, so each message's line is
found the same way.
"""

from __future__ import annotations

from collections.abc import Mapping


def line_of(container: object, key: object, default: int | None = None) -> int | None:
    """The 1-based line of `key` (a mapping key or a list index) in a ruamel round-trip
    container, else `default`: values built in memory have no line."""
    try:
        lc = container.lc  # type: ignore[attr-defined]
        position = lc.key(key) if isinstance(container, Mapping) else lc.item(key)
        return int(position[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return default
