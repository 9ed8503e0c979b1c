"""Role settings as Ansible resolves them for one host, read from the roles themselves.

A role's settings are its defaults/main.yml and vars/main.yml; a play sees them
overlaid with the host's inventory variables, in Ansible's order of precedence:

    role defaults  <  inventory variables (group and host vars, merged)  <  role vars
    <  extra vars (`-e`)  <  magic variables (inventory_hostname, groups, ...)

Whatever needs a role's setting outside a play (the offline bundle, the tests that
check what the roles did) reads it here, so the expectation follows the role when a
default changes instead of repeating it as a literal.

Values are rendered with Ansible's own templating, and only the one setting asked for
(plus what its template refers to): some defaults hold
`lookup('ansible.builtin.password', ...)`, which creates a secret file the moment it is
rendered, so rendering every setting up front would write secrets nobody asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from gpucluster import paths

KINDS: Final = ("defaults", "vars")
"""The files of a role that hold settings, lowest precedence first."""


class _Missing:
    """The type of MISSING: no default was given."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""Passed as a default, it means "no default": an undefined setting is an error."""


class UndefinedSetting(KeyError):
    """A setting no role and no inventory variable defines, for the host it was asked for.

    A KeyError, so `settings.get(name)` and `name in settings` behave as for a dict.
    """

    def __init__(self, name: str, host: str) -> None:
        super().__init__(name)
        self.name = name
        self.host = host

    def __str__(self) -> str:
        return (
            f"{self.name} is not defined for host {self.host}: no role default, "
            "inventory variable or role var sets it"
        )


class NeedsFacts(ValueError):
    """A setting whose value depends on facts, which only a play against the host gathers."""

    def __init__(self, name: str, host: str) -> None:
        super().__init__(
            f"{name} for host {host} refers to ansible_facts, which only a play gathers from "
            "the host: it cannot be rendered offline"
        )
        self.name = name
        self.host = host


@dataclass(frozen=True)
class RoleSettings:
    """The raw (unrendered) settings of some roles, by precedence."""

    defaults: Mapping[str, Any] = field(default_factory=dict)
    role_vars: Mapping[str, Any] = field(default_factory=dict)

    def names(self) -> set[str]:
        return set(self.defaults) | set(self.role_vars)


def roles_root(root: Path | None = None) -> Path:
    """The roles/ directory of the project (or of `root`, a project checkout)."""
    return (root or paths.project_root()) / "roles"


def role_names(roles_dir: Path) -> list[str]:
    """Every role under `roles_dir`, sorted (the order settings are merged in)."""
    return sorted(path.name for path in roles_dir.iterdir() if path.is_dir())


def read_files(parts: Iterable[tuple[str, str]], roles_dir: Path) -> dict[str, Any]:
    """The raw YAML of `<roles_dir>/<role>/<kind>/main.yml` for each (role, kind), merged.

    Later files win; a role without such a file adds nothing.
    """
    settings: dict[str, Any] = {}
    for role, kind in parts:
        path = roles_dir / role / kind / "main.yml"
        if path.exists():
            settings.update(yaml.safe_load(path.read_text()) or {})
    return settings


def load(roles: Iterable[str] | None = None, roles_dir: Path | None = None) -> RoleSettings:
    """The raw settings of the named roles (every role under `roles_dir` when None).

    Ansible's role variable names are prefixed with the role's name, so loading every role
    makes one namespace in which a template may refer to another role's default, as it can
    in a play that runs both roles.
    """
    directory = roles_dir or roles_root()
    names = list(roles) if roles is not None else role_names(directory)
    return RoleSettings(
        defaults=read_files(((role, "defaults") for role in names), directory),
        role_vars=read_files(((role, "vars") for role in names), directory),
    )


@dataclass(frozen=True)
class HostContext:
    """One host's inventory variables and Ansible's magic variables about its inventory.

    `inventory_vars` are the host's group and host variables, already merged (what
    `ansible-inventory --host` shows). `groups` maps each group to its hosts (sorted here,
    where Ansible keeps inventory order); `hostvars` holds at least every host's inventory
    variables; `inventory_dir` is where the inventory file defining the host lives.
    """

    name: str
    inventory_vars: Mapping[str, Any] = field(default_factory=dict)
    groups: Mapping[str, Sequence[str]] = field(default_factory=dict)
    hostvars: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    inventory_dir: str | None = None

    def magic(self) -> dict[str, Any]:
        """Ansible's magic variables for this host: no inventory or role may override them."""
        magic: dict[str, Any] = {
            "inventory_hostname": self.name,
            "groups": {group: list(hosts) for group, hosts in self.groups.items()},
            "group_names": self._group_names(),
            "hostvars": {host: dict(values) for host, values in self.hostvars.items()},
        }
        if self.inventory_dir is not None:
            magic["inventory_dir"] = self.inventory_dir
        return magic

    def _group_names(self) -> list[str]:
        """The host's groups, sorted, as Ansible lists them: every group but `all`."""
        if not self.groups and "group_names" in self.inventory_vars:
            return list(self.inventory_vars["group_names"])
        return sorted(
            group for group, hosts in self.groups.items() if self.name in hosts and group != "all"
        )


class SettingsRenderer:
    """Renders `{{ ... }}` over role settings the way Ansible renders role defaults.

    ansible-core 2.19 renders only strings trusted as templates; Ansible trusts role defaults,
    role vars and inventory files, so the settings and the texts given here are trusted too.
    Never pass a value a person typed at a prompt: that is data (gpucluster.untrusted).
    """

    def __init__(self, variables: Mapping[str, Any]) -> None:
        # Imported here: Ansible's import is slow and only this needs it.
        from ansible.parsing.dataloader import DataLoader
        from ansible.template import Templar

        _find_plugins_by_full_name()
        self._templar = Templar(loader=DataLoader(), variables=_trusted(dict(variables)))

    def template(self, text: Any) -> Any:
        """`text` (a string, or a structure of them) rendered over the settings."""
        return self._templar.template(_trusted(text))


def _find_plugins_by_full_name() -> None:
    """Let templates name plugins in full (`lookup('ansible.builtin.password', ...)`).

    The ansible commands install Ansible's collection loader when they start; a template
    rendered here would otherwise find only the short names. Once per process.
    """
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig

    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader()


def _trusted(value: Any) -> Any:
    """`value` with every string marked as a template, as Ansible marks role files."""
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, Mapping):
        return {key: _trusted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_trusted(item) for item in value]
    return value


def render(
    settings: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> SettingsRenderer:
    """A renderer of `{{ ... }}` expressions over the settings, as Ansible renders them."""
    return SettingsRenderer({**settings, **(overrides or {})})


class HostSettings(Mapping[str, Any]):
    """The settings of one host, each rendered only when it is read.

    A read-only mapping: `settings[name]` renders that setting (an UndefinedSetting when
    nothing defines it), `name in settings` renders nothing. Iterating over `.values()` or
    `.items()` renders every setting, lookups included: read settings by name.
    """

    def __init__(
        self,
        settings: RoleSettings,
        context: HostContext,
        extra_vars: Mapping[str, Any] | None = None,
    ) -> None:
        self.host = context.name
        self._variables: dict[str, Any] = {
            **settings.defaults,
            **context.inventory_vars,
            **settings.role_vars,
            **(extra_vars or {}),
            **context.magic(),
        }
        self._renderer: SettingsRenderer | None = None

    def __getitem__(self, name: str) -> Any:
        if name not in self._variables:
            raise UndefinedSetting(name, self.host)
        return self._render(name, "{{ " + name + " }}")

    def __contains__(self, name: object) -> bool:
        return name in self._variables

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables)

    def __len__(self) -> int:
        return len(self._variables)

    def value(self, name: str, default: Any = MISSING) -> Any:
        """The setting rendered for this host; `default` when nothing defines it, if given."""
        if name not in self._variables and default is not MISSING:
            return default
        return self[name]

    def template(self, text: Any) -> Any:
        """Any template text rendered over this host's settings, as a task would see it."""
        return self._render(repr(text), text)

    def _render(self, what: str, text: Any) -> Any:
        from ansible.errors import AnsibleUndefinedVariable

        if self._renderer is None:
            self._renderer = SettingsRenderer(self._variables)
        try:
            return self._renderer.template(text)
        except AnsibleUndefinedVariable as error:
            if "'ansible_facts'" in str(error):
                raise NeedsFacts(what, self.host) from error
            error.add_note(f"while rendering {what} for host {self.host}")
            raise


def for_host(
    context: HostContext,
    roles: Iterable[str] | None = None,
    roles_dir: Path | None = None,
    extra_vars: Mapping[str, Any] | None = None,
) -> HostSettings:
    """The settings of the named roles (all by default) for one host of an inventory."""
    return HostSettings(load(roles, roles_dir), context, extra_vars)
