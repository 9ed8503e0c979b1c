"""The `inventory` and `metrics` fixtures of the testinfra modules, loaded as a pytest plugin.

The same modules verify a role in Molecule and a real cluster after
`gpucluster verify`; expectations come from the Ansible inventory in use and the
roles' own settings (gpucluster.role_settings), never from values hard-coded for
one scenario or copied from a role's defaults.

Loaded with `-p tests.infra.plugin` (Molecule's verifier in .config/molecule/config.yml,
and `gpucluster verify`), so the test modules under tests/infra and the scenarios'
Molecule-only modules under molecule/*/tests share one fixture without a conftest
re-exporting it. It is not a conftest: a conftest loaded as well would register the
fixture twice.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import testinfra

from gpucluster import role_settings
from gpucluster.role_settings import MISSING, HostContext, HostSettings, RoleSettings
from tests.infra.monitoring_helpers import Endpoints, endpoints

# One renderer per (inventory, host): the inventory does not change while the tests read it.
_SETTINGS: dict[tuple[str, str], HostSettings] = {}


@functools.cache
def _roles() -> RoleSettings:
    """Every role's raw settings: the variable names are role-prefixed, so they share one
    namespace, and a role's default may refer to another role's."""
    return role_settings.load()


def inventory_dir_of(inventory_file: str | None) -> str | None:
    """Ansible's inventory_dir for hosts of this inventory source.

    Ansible sets it to the directory of the file that defines the host: the source itself
    when it is a directory (Molecule's and gpucluster's inventories), else its parent.
    """
    if not inventory_file:
        return None
    source = Path(inventory_file.split(",")[0]).expanduser().resolve()
    return str(source if source.is_dir() else source.parent)


class Inventory:
    """One host's view of the inventory: raw values, and role settings rendered as Ansible does."""

    def __init__(self, host: Any) -> None:
        self._host = host
        self._runner = host.backend.ansible_runner
        self.name: str = host.backend.host
        self.vars: dict[str, Any] = self._runner.get_variables(self.name)

    def hosts(self) -> list[str]:
        return sorted(self._runner.get_hosts("all"))

    def hosts_of(self, group: str) -> list[str]:
        return sorted(self._runner.get_hosts(group))

    def first_of(self, group: str) -> str:
        """The first host of `group`, sorted (where the roles look for the group's server)."""
        hosts = self.hosts_of(group)
        assert hosts, f"the inventory has no host in group {group}"
        return hosts[0]

    def vars_of(self, name: str) -> dict[str, Any]:
        return self._runner.get_variables(name)

    def host(self, name: str) -> Any:
        """A testinfra host for another inventory host, reached as the host under test is."""
        backend = self._host.backend
        return testinfra.get_host(
            f"ansible://{name}",
            ansible_inventory=backend.ansible_inventory,
            ssh_config=backend.ssh_config,
            ssh_identity_file=backend.ssh_identity_file,
            force_ansible=backend.force_ansible,
            sudo=backend.sudo,
            sudo_user=backend.sudo_user,
        )

    def settings(self, of: str | None = None) -> HostSettings:
        """The role settings of this host (or of host `of`), each rendered when read."""
        name = of or self.name
        key = (str(self._runner.inventory_file), name)
        if key not in _SETTINGS:
            _SETTINGS[key] = HostSettings(_roles(), self._context(name))
        return _SETTINGS[key]

    def setting(self, name: str, default: Any = MISSING, *, of: str | None = None) -> Any:
        """A role setting as the roles used it on this host (or on host `of`).

        Role defaults < the host's inventory variables < role vars, rendered by Ansible's
        templating. Undefined everywhere: an error naming the setting and the host, unless
        a default is given.
        """
        return self.settings(of).value(name, default)

    def resolved(self, name: str, default: Any = None) -> Any:
        """An inventory variable of this host, templates rendered; `default` when unset.

        For values no role defines (cluster_users, ...); a role's setting is setting().
        """
        return self.setting(name) if name in self.vars else default

    def render(self, template: str) -> Any:
        """`template` rendered over this host's settings, as a task on it would see it."""
        return self.settings().template(template)

    def management_address(self, name: str) -> str:
        other = self.vars_of(name)
        return str(other.get("management_address") or other["ansible_host"])

    @property
    def domain(self) -> str:
        """The cluster's DNS domain (role cluster's cluster_domain, or the inventory's)."""
        return str(self.setting("cluster_domain"))

    def _context(self, name: str) -> HostContext:
        return HostContext(
            name=name,
            inventory_vars=self.vars_of(name),
            groups=self.vars["groups"],
            hostvars={host: self._own_vars(host) for host in self.hosts()},
            inventory_dir=inventory_dir_of(self._runner.inventory_file),
        )

    def _own_vars(self, name: str) -> dict[str, Any]:
        """A host's inventory variables without the `groups` testinfra copies into each:
        every host's copy of every group would make hostvars grow with the square of the
        inventory, and the templates read `groups` itself."""
        return {key: value for key, value in self.vars_of(name).items() if key != "groups"}


@pytest.fixture
def inventory(host: Any) -> Inventory:
    return Inventory(host)


@pytest.fixture
def metrics(inventory: Inventory) -> Endpoints:
    """The cluster's metrics endpoints (tests/infra/monitoring_helpers.py), for the
    node_exporter, dcgm_exporter and prometheus modules."""
    return endpoints(inventory)


CHANGES_STATE = "changes_state"
RAISES_ALERTS = "raises_alerts"
"""Tests that make a real alert fire (a stopped exporter): Molecule runs them; `gpucluster
verify` leaves them out unless asked (--raise-alerts), so checking a cluster pages nobody."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{CHANGES_STATE}: runs after every other test of the session and leaves the hosts"
        " changed (a Molecule scenario destroys its instances next; converge restores them)",
    )
    config.addinivalue_line(
        "markers",
        f"{RAISES_ALERTS}: makes a real alert fire and reach the receivers; gpucluster verify"
        " runs it only with --raise-alerts",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that change what the others check run last, so none has to undo its change.

    Molecule hands the verifier its files in an order of its own; undoing a change (a second
    converge) would cost as much as making it.
    """
    items.sort(key=lambda item: item.get_closest_marker(CHANGES_STATE) is not None)
