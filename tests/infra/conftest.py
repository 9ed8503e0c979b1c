"""Helpers shared by the testinfra modules.

The same modules verify a role in Molecule and a real cluster after
`gpucluster verify`; expectations come from the Ansible inventory in use,
never from values hard-coded for one scenario.
"""

from __future__ import annotations

from typing import Any

import pytest

# Rendered values per (inventory, host, variable): rendering costs an ad-hoc Ansible run,
# and the inventory does not change while the tests read it.
_RENDERED: dict[tuple[str, str, str], Any] = {}


class Inventory:
    """Raw inventory values (testinfra reads them without Jinja) seen from one host."""

    def __init__(self, host: Any) -> None:
        self._host = host
        self._runner = host.backend.ansible_runner
        self.name: str = host.backend.host
        self.vars: dict[str, Any] = self._runner.get_variables(self.name)

    def hosts(self) -> list[str]:
        return sorted(self._runner.get_hosts("all"))

    def hosts_of(self, group: str) -> list[str]:
        return sorted(self._runner.get_hosts(group))

    def vars_of(self, name: str) -> dict[str, Any]:
        return self._runner.get_variables(name)

    def resolved(self, name: str, default: Any = None) -> Any:
        """A variable of this host as Ansible sees it, templates rendered.

        Raw values are used as they are; only a value holding a template
        (`{{ ... }}`) costs an ad-hoc Ansible round trip to render it.
        """
        if name not in self.vars:
            return default
        raw = self.vars[name]
        if "{{" not in repr(raw):
            return raw
        key = (str(self._runner.inventory_file), self.name, name)
        if key not in _RENDERED:
            _RENDERED[key] = self._host.ansible("debug", f"var={name}", check=False)[name]
        value = _RENDERED[key]
        return default if value == "VARIABLE IS NOT DEFINED!" else value

    def render(self, template: str) -> Any:
        """`template` rendered by Ansible for this host (cached for the whole test run)."""
        key = (str(self._runner.inventory_file), self.name, template)
        if key not in _RENDERED:
            _RENDERED[key] = self._host.ansible("debug", f"msg={template}", check=False)["msg"]
        return _RENDERED[key]

    def management_address(self, name: str) -> str:
        other = self.vars_of(name)
        return str(other.get("management_address") or other["ansible_host"])

    @property
    def domain(self) -> str:
        return str(self.vars.get("cluster_domain", "cluster.internal"))


@pytest.fixture
def inventory(host: Any) -> Inventory:
    return Inventory(host)
