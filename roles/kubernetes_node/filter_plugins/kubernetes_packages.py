"""Compare installed Kubernetes packages with their pins.

Kept in Python so the comparison is unit-tested, and so the role's tasks stay
readable (Jinja has no clean way to diff two mappings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def kubernetes_pin_mismatches(
    names: Iterable[str],
    pins: Mapping[str, str],
    installed: Mapping[str, str],
    installed_only: bool = False,
) -> list[str]:
    """Packages of `names` not installed at their pinned version, in the order given.

    With `installed_only`, only packages installed at another version: those
    whose change would be an upgrade or downgrade rather than a first install.
    """
    wrong = []
    for name in names:
        have = installed.get(name)
        if have == pins[name] or (installed_only and have is None):
            continue
        wrong.append(name)
    return wrong


def kubernetes_apt_pins(names: Iterable[str], pins: Mapping[str, str]) -> list[str]:
    """`name=version` for apt, in the order given."""
    return [f"{name}={pins[name]}" for name in names]


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "kubernetes_pin_mismatches": kubernetes_pin_mismatches,
            "kubernetes_apt_pins": kubernetes_apt_pins,
        }
