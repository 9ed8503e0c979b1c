"""The distribution packages that every role serving this host needs, as one list.

Each role that installs distribution packages declares two settings in its defaults:
`<role>_groups`, the inventory groups it serves (`all` for every node), and
`<role>_base_packages`, the packages it needs in its current settings. `common` installs the
union for the host in one apt transaction: a fresh node then runs dpkg once instead of once per
role, and each role's own apt task finds its packages present and is skipped.

A package whose maintainer scripts ask questions (slapd's domain) gets its answers from
`<role>_base_debconf`, a list of debconf selections (name, question, vtype, value);
`setting='base_debconf'` returns them, and `common` preseeds them before that transaction.

The lists are read from the roles themselves and rendered the way Ansible would render them for
this host: role defaults, overridden by the host's variables, overridden by role vars. Nothing
is typed twice, and a role added with the two settings is picked up without a change here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: host_packages
short_description: union of the base packages of the roles serving this host
description:
  - Reads C(<role>_groups) and C(<role>_base_packages) from every role under the given
    roles directory and returns, sorted, the packages of the roles whose groups include
    one of the host's groups (or C(all)).
options:
  _terms:
    description: The roles directory.
    required: true
  roles:
    description: Only these roles (for a play that runs some roles, e.g. a Molecule scenario);
      empty means every role under the directory.
    type: list
    elements: str
    default: []
  setting:
    description: C(base_packages) (package names) or C(base_debconf) (the debconf selections
      of those packages, mappings with name, question, vtype and value).
    type: str
    default: base_packages
    choices: [base_packages, base_debconf]
"""

RETURN = r"""
_raw:
  description: Package names, sorted, without duplicates; or the debconf selections, in role
    order.
  type: list
"""

DEBCONF_KEYS = ("name", "question", "vtype", "value")


class LookupModule(LookupBase):
    """`lookup('host_packages', roles_dir, roles=[...], setting=..., wantlist=True)`."""

    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list:
        if len(terms) != 1:
            raise AnsibleLookupError("host_packages takes one term: the roles directory")
        self.set_options(var_options=variables, direct=kwargs)
        only = set(self.get_option("roles") or [])
        setting = self.get_option("setting")
        host_vars = dict(variables or {})
        host_groups = set(host_vars.get("group_names", [])) | {"all"}
        found: list = []
        for role_dir in sorted(Path(str(terms[0])).iterdir()):
            if not only or role_dir.name in only:
                found.extend(self._role_setting(role_dir, setting, host_vars, host_groups))
        if setting == "base_debconf":
            return found
        return sorted(set(found))

    def _role_setting(
        self, role_dir: Path, setting: str, host_vars: dict[str, Any], host_groups: set[str]
    ) -> list:
        """The role's `setting` when it serves one of `host_groups`, else nothing."""
        role = role_dir.name
        name = f"{role}_{setting}"
        defaults = self._load(role_dir / "defaults" / "main.yml")
        if name not in defaults or f"{role}_groups" not in defaults:
            return []
        role_vars = self._load(role_dir / "vars" / "main.yml")
        settings = {**defaults, **host_vars, **role_vars}
        templar = self._templar.copy_with_new_env(available_variables=settings)
        if not host_groups & set(templar.template(settings[f"{role}_groups"])):
            return []
        value = templar.template(settings[name])
        if setting == "base_debconf":
            _check_selections(name, value)
        elif not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise AnsibleLookupError(f"{name} must be a list of package names")
        return value

    def _load(self, path: Path) -> dict[str, Any]:
        if not path.exists():
            return {}
        return self._loader.load_from_file(str(path), trusted_as_template=True) or {}


def _check_selections(name: str, value: Any) -> None:
    """Each selection names its package, question, type and answer, all strings."""
    if not isinstance(value, list) or not all(
        isinstance(item, dict)
        and set(item) == set(DEBCONF_KEYS)
        and all(isinstance(item[key], str) for key in DEBCONF_KEYS)
        for item in value
    ):
        raise AnsibleLookupError(
            f"{name} must be a list of debconf selections with {', '.join(DEBCONF_KEYS)}"
        )
