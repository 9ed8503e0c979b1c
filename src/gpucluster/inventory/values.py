"""What a valid inventory value looks like, and how a value is shown in a message.

The node groups, the variables gpucluster reads, and the value checks (addresses, networks,
DNS labels, MACs, interface names) are shared by the reader, the rules, the model and the
edits; they live here so each is defined once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network

NODE_GROUPS: tuple[str, ...] = ("login", "management", "fileserver", "backup", "gpu")
"""The node groups of a cluster. Every one must have at least one host: a cluster without a
login, management, file or backup node does not work, and a GPU cluster without GPU nodes is a
mistake worth stopping for."""

CLUSTER_VARS: tuple[str, ...] = (
    "cluster_name",
    "cluster_domain",
    "management_network",
    "storage_network",
    # People and projects (checked by people_rules).
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
