"""Which roles `gpucluster install` runs: those playbooks/site.yml names.

A role can exist (with its Molecule scenario) before the install runs it, while its
service is still being built. `gpucluster verify` checks a cluster against what the
install put there, so it leaves out the test directories of such roles and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SITE = Path("playbooks") / "site.yml"
ROLE_INCLUDES = ("ansible.builtin.include_role", "ansible.builtin.import_role")


def _names(node: Any) -> set[str]:
    """Role names in a parsed playbook: `roles:` entries and include/import_role tasks."""
    found: set[str] = set()
    if isinstance(node, dict):
        role = node.get("role")
        if isinstance(role, str):
            found.add(role)
        for module in ROLE_INCLUDES:
            if isinstance(node.get(module), dict):
                found.add(str(node[module].get("name")))
        for value in node.values():
            found |= _names(value)
    elif isinstance(node, list):
        for item in node:
            found |= _names(item)
    return found


def roles_run_by_install(root: Path) -> set[str]:
    """The roles site.yml runs (its plays' roles and the roles its tasks include)."""
    return _names(yaml.safe_load((root / SITE).read_text(encoding="utf-8")))


def role_tests_not_installed(root: Path) -> list[Path]:
    """tests/infra/<role> directories of roles that exist but that the install does not run."""
    installed = roles_run_by_install(root)
    tests = root / "tests" / "infra"
    return sorted(
        directory
        for directory in tests.iterdir()
        if directory.is_dir()
        and (root / "roles" / directory.name).is_dir()
        and directory.name not in installed
    )
