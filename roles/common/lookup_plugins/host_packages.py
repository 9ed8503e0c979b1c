"""The distribution packages that every role serving this host needs, as one list.

Each role that installs distribution packages declares two settings in its defaults:
`<role>_groups`, the inventory groups it serves (`all` for every node), and
`<role>_base_packages`, the packages it needs in its current settings. `common` installs the
union for the host in one apt transaction: a fresh node then runs dpkg once instead of once per
role, and each role's own apt task finds its packages present and is skipped.

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
"""

RETURN = r"""
_raw:
  description: Package names, sorted, without duplicates.
  type: list
  elements: str
"""


class LookupModule(LookupBase):
    """`lookup('host_packages', roles_dir, roles=[...], wantlist=True)`."""

    def run(
        self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[str]:
        if len(terms) != 1:
            raise AnsibleLookupError("host_packages takes one term: the roles directory")
        self.set_options(var_options=variables, direct=kwargs)
        only = set(self.get_option("roles") or [])
        host_vars = dict(variables or {})
        host_groups = set(host_vars.get("group_names", [])) | {"all"}
        packages: set[str] = set()
        for role_dir in sorted(Path(str(terms[0])).iterdir()):
            if not only or role_dir.name in only:
                packages.update(self._role_packages(role_dir, host_vars, host_groups))
        return sorted(packages)

    def _role_packages(
        self, role_dir: Path, host_vars: dict[str, Any], host_groups: set[str]
    ) -> list[str]:
        """The role's base packages when it serves one of `host_groups`, else nothing."""
        role = role_dir.name
        defaults = self._load(role_dir / "defaults" / "main.yml")
        if f"{role}_base_packages" not in defaults or f"{role}_groups" not in defaults:
            return []
        role_vars = self._load(role_dir / "vars" / "main.yml")
        settings = {**defaults, **host_vars, **role_vars}
        templar = self._templar.copy_with_new_env(available_variables=settings)
        if not host_groups & set(templar.template(settings[f"{role}_groups"])):
            return []
        names = templar.template(settings[f"{role}_base_packages"])
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise AnsibleLookupError(f"{role}_base_packages must be a list of package names")
        return names

    def _load(self, path: Path) -> dict[str, Any]:
        if not path.exists():
            return {}
        return self._loader.load_from_file(str(path), trusted_as_template=True) or {}
