"""The rules the people and projects declaration must follow.

Users and projects are declared in the inventory's group_vars (`cluster_users`,
`cluster_projects`, `cluster_people_group`, `cluster_admins_group`) and become LDAP entries,
Unix ids and directory owners on every node. A mistake there (two users with one uid, a user
in a project nobody declared) would silently give someone else's files away, so every problem
is reported before anything runs, with the file, the line and the field that holds it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gpucluster import role_settings
from gpucluster.inventory.problems import Problem
from gpucluster.inventory.raw import RawInventory, RawValue, key_line
from gpucluster.inventory.values import show
from gpucluster.yaml_lines import line_of


@functools.cache
def _cluster_fact(name: str) -> Any:
    """A default of role `cluster`: the name patterns and groups the roles use are these."""
    return role_settings.read_files([("cluster", "defaults")], role_settings.roles_root())[name]


@functools.cache
def user_name() -> re.Pattern[str]:
    """What a declared user may be called."""
    return re.compile(_cluster_fact("cluster_user_name_pattern"))


@functools.cache
def project_name() -> re.Pattern[str]:
    """What a declared project (and the people and admins groups) may be called."""
    return re.compile(_cluster_fact("cluster_project_name_pattern"))


SSH_KEY = re.compile(
    r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com"
    r"|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?"
)
DEFAULT_FIRST_ID = 10000
"""Where declared uids and gids start by default: above every id a distribution, a package or
a local administrator allocates (Debian's adduser stops at 59999 but starts at 1000, so local
accounts of the first nine thousand are left room)."""
LAST_ID = 59999
"""The last declared id: systemd's dynamic users and `nobody` live above it."""
FIRST_ID_VAR = "cluster_people_first_id"


def default_groups() -> dict[str, tuple[str, int]]:
    """Inventory variable -> the (name, gid) it defaults to, from role `cluster`."""
    return {
        var: (
            str(_cluster_fact(f"{var}_default")["name"]),
            int(_cluster_fact(f"{var}_default")["gid"]),
        )
        for var in ("cluster_people_group", "cluster_admins_group")
    }


DISTRIBUTION_NAMES = frozenset(
    [
        # Debian's base-passwd users and groups, and those of Ubuntu's server image.
        *("root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news"),
        *("uucp", "proxy", "www-data", "backup", "list", "irc", "gnats", "nobody", "nogroup"),
        *("adm", "tty", "disk", "kmem", "dialout", "fax", "voice", "cdrom", "floppy", "tape"),
        *("sudo", "audio", "dip", "operator", "src", "shadow", "utmp", "video", "sasl"),
        *("plugdev", "staff", "users", "wheel", "input", "kvm", "render", "sgx", "netdev"),
        *("crontab", "syslog", "ssl-cert", "lxd", "landscape", "pollinate", "tcpdump", "tss"),
        *("uuidd", "dnsmasq", "usbmux", "fwupd-refresh", "polkitd", "messagebus", "_apt"),
        *("systemd-journal", "systemd-network", "systemd-resolve", "systemd-timesync"),
        *("systemd-coredump", "systemd-oom", "sshd", "_ssh", "_chrony", "chrony", "ntp"),
        # Accounts of the packages the roles install on the nodes.
        *("openldap", "sssd", "_rpc", "statd", "docker", "containerd", "nvidia-persistenced"),
        *("borg", "docker-registry", "prometheus", "postgres", "mlflow"),
    ]
)
"""Local accounts and groups of a Debian or Ubuntu node that an LDAP name must not shadow:
sssd answers for LDAP names too, so a project called `sudo` or `adm` would hand its members
that group's powers on every node."""


@dataclass(frozen=True)
class Reserved:
    """The names and ids a declaration must not take, and why each is taken."""

    names: Mapping[str, str]  # name -> who has it
    ids: range

    def owner(self, name: object) -> str | None:
        return self.names.get(name) if isinstance(name, str) else None


@functools.cache
def _role_default(role: str, var: str, fallback: str) -> str:
    """A role's default for `var`, read from the role (one source of truth)."""
    from gpucluster.paths import project_root

    path = project_root() / "roles" / role / "defaults" / "main.yml"
    try:
        defaults = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, RuntimeError, yaml.YAMLError):
        return fallback
    value = defaults.get(var) if isinstance(defaults, dict) else None
    return value if isinstance(value, str) else fallback


def _cluster_name(inv: RawInventory, role: str, var: str, fallback: str) -> object:
    """The name the inventory sets for `var`, or else the role's default."""
    raw = inv.cluster_vars.get(var)
    return raw.value if raw is not None else _role_default(role, var, fallback)


def reserved(inv: RawInventory) -> Reserved:
    """What the cluster itself uses: distribution accounts, the local admin group and admin
    users of role common, the registry's service account, and ids below the first id."""
    names = {name: "a local account or group of every node" for name in DISTRIBUTION_NAMES}
    admin_group = _cluster_name(inv, "common", "common_admin_group", "gpuadmin")
    if isinstance(admin_group, str):
        names[admin_group] = "the local admin group (common_admin_group: passwordless sudo)"
    service = _cluster_name(inv, "registry", "registry_username", "gpucluster")
    if isinstance(service, str):
        names[service] = "the registry's service account (registry_username)"
    raw_admins = inv.cluster_vars.get("common_admin_users")
    admins = raw_admins.value if raw_admins is not None else None
    if isinstance(admins, Sequence) and not isinstance(admins, str):
        for admin in admins:
            name = admin.get("name") if isinstance(admin, Mapping) else None
            if isinstance(name, str):
                names[name] = "a local admin user (common_admin_users)"
    return Reserved(names, range(_first_id(inv), LAST_ID + 1))


def _is_first_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1000 <= value < LAST_ID


def first_id(value: object) -> int:
    """The first declared id `cluster_people_first_id` sets (`value`), or the default when it
    is unset or invalid (an invalid one is reported by the rules)."""
    return value if _is_first_id(value) else DEFAULT_FIRST_ID  # type: ignore[return-value]


def _first_id(inv: RawInventory) -> int:
    raw = inv.cluster_vars.get(FIRST_ID_VAR)
    return first_id(raw.value if raw is not None else None)


def _first_id_problems(inv: RawInventory) -> Iterator[Problem]:
    raw = inv.cluster_vars.get(FIRST_ID_VAR)
    if raw is None:
        return
    value = raw.value
    if not _is_first_id(value):
        yield Problem(
            raw.file,
            raw.line,
            None,
            FIRST_ID_VAR,
            f"{show(value)} is not an id from 1000 to {LAST_ID - 1}: set it above every uid "
            "and gid the nodes allocate locally",
        )


USER_FIELDS = {"name", "uid", "full_name", "ssh_keys", "projects", "admin", "locked"}
PROJECT_FIELDS = {"name", "gid", "description"}


@dataclass(frozen=True)
class _Item:
    """One entry of a declared list, with where it is and how to name it in messages."""

    value: object
    file: Path
    line: int | None
    label: str  # cluster_users[2]

    def field(self, name: str) -> tuple[object, int | None]:
        mapping = self.value if isinstance(self.value, Mapping) else {}
        return mapping.get(name), key_line(mapping, name) or self.line

    def problem(self, field: str | None, message: str, line: int | None = None) -> Problem:
        where = self.label if field is None else f"{self.label}.{field}"
        return Problem(self.file, line or self.line, None, where, message)


def _items(raw: RawValue | None, var: str) -> tuple[list[_Item], list[Problem]]:
    if raw is None or raw.value is None:
        return [], []
    if not isinstance(raw.value, Sequence) or isinstance(raw.value, str):
        return [], [Problem(raw.file, raw.line, None, var, "expected a list")]
    items = []
    for index, value in enumerate(raw.value):
        line = line_of(raw.value, index, raw.line)
        items.append(_Item(value, raw.file, line, f"{var}[{index}]"))
    return items, []


def _is_id(value: object, ids: range) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in ids


def _id_message(value: object, ids: range) -> str:
    return (
        f"{show(value)} is not an id from {ids.start} to {ids.stop - 1} "
        f"(declared ids start at {FIRST_ID_VAR}, above every local account)"
    )


def _bool_field(item: _Item, name: str) -> Iterator[Problem]:
    value, line = item.field(name)
    if value is not None and not isinstance(value, bool):
        yield item.problem(name, f"{show(value)} is not true or false", line)


def _unknown_fields(item: _Item, known: set[str], kind: str) -> Iterator[Problem]:
    fields = ", ".join(sorted(known))
    for unknown in sorted(set(map(str, item.value)) - known):
        yield item.problem(unknown, f"unknown field ({kind} has {fields})")


def _unique_id(item: _Item, name: str, taken: dict[object, str], ids: range) -> Iterator[Problem]:
    """A required uid or gid, in range and not anyone else's; records it in `taken`."""
    value, line = item.field(name)
    if value is None:
        yield item.problem(name, "missing")
    elif not _is_id(value, ids):
        yield item.problem(name, _id_message(value, ids), line)
    elif value in taken:
        yield item.problem(name, f"{value} is already the {name} of {taken[value]}", line)
    else:
        taken[value] = item.label


def _group_problems(inv: RawInventory, taken: Reserved) -> Iterator[Problem]:
    for var in default_groups():
        raw = inv.cluster_vars.get(var)
        if raw is None:
            continue
        if not isinstance(raw.value, Mapping):
            yield Problem(raw.file, raw.line, None, var, "expected a mapping with name and gid")
            continue
        item = _Item(raw.value, raw.file, raw.line, var)
        name, line = item.field("name")
        if name is not None and not (isinstance(name, str) and project_name().fullmatch(name)):
            yield item.problem("name", f"{show(name)} is not a group name", line)
        elif taken.owner(name) is not None:
            yield item.problem("name", f"{name} is already {taken.owner(name)}", line)
        gid, line = item.field("gid")
        if gid is not None and not _is_id(gid, taken.ids):
            yield item.problem("gid", _id_message(gid, taken.ids), line)


def _group_ids(inv: RawInventory) -> dict[str, tuple[str, int]]:
    """The people and admins groups as (name, gid), defaults filled in."""
    groups = {}
    for var, (name, gid) in default_groups().items():
        raw = inv.cluster_vars.get(var)
        value = raw.value if raw is not None and isinstance(raw.value, Mapping) else {}
        groups[var] = (str(value.get("name", name)), value.get("gid", gid))
    return groups


def _project_problems(
    inv: RawInventory, projects: list[_Item], taken: Reserved
) -> Iterator[Problem]:
    groups = _group_ids(inv)
    taken_names = {name: var for var, (name, _) in groups.items()}
    taken_gids: dict[object, str] = {gid: var for var, (_, gid) in groups.items()}
    for item in projects:
        if not isinstance(item.value, Mapping):
            yield item.problem(None, "expected a mapping with name and gid")
            continue
        yield from _unknown_fields(item, PROJECT_FIELDS, "a project")
        name, line = item.field("name")
        if name is None:
            yield item.problem("name", "missing")
        elif not (isinstance(name, str) and project_name().fullmatch(name)):
            yield item.problem(
                "name",
                f"{show(name)} is not a project name (lowercase letter, then lowercase "
                "letters, digits or '-', 2-31 characters)",
                line,
            )
        elif name in taken_names:
            yield item.problem("name", f"{name} is already taken by {taken_names[name]}", line)
        elif taken.owner(name) is not None:
            yield item.problem("name", f"{name} is already {taken.owner(name)}", line)
        else:
            taken_names[name] = item.label
        yield from _unique_id(item, "gid", taken_gids, taken.ids)
        description, line = item.field("description")
        if description is not None and not isinstance(description, str):
            yield item.problem("description", f"{show(description)} is not text", line)


def _user_problems(
    users: list[_Item], project_names: set[str], taken: Reserved
) -> Iterator[Problem]:
    names: dict[str, str] = {}
    uids: dict[object, str] = {}
    for item in users:
        if not isinstance(item.value, Mapping):
            yield item.problem(None, "expected a mapping with name, uid, ssh_keys, projects")
            continue
        yield from _unknown_fields(item, USER_FIELDS, "a user")
        name, line = item.field("name")
        if name is None:
            yield item.problem("name", "missing")
        elif not (isinstance(name, str) and user_name().fullmatch(name)):
            yield item.problem(
                "name",
                f"{show(name)} is not a user name (lowercase letters, digits, '_' or '-', "
                "at most 32, not starting with a digit or '-')",
                line,
            )
        elif taken.owner(name) is not None:
            yield item.problem("name", f"{name} is already {taken.owner(name)}", line)
        elif name in names:
            yield item.problem("name", f"{name} is declared twice (also {names[name]})", line)
        else:
            names[name] = item.label
        yield from _unique_id(item, "uid", uids, taken.ids)
        full_name, line = item.field("full_name")
        if full_name is not None and not isinstance(full_name, str):
            yield item.problem("full_name", f"{show(full_name)} is not text", line)
        yield from _list_field(item, "ssh_keys", _ssh_key_problem)
        yield from _list_field(
            item,
            "projects",
            lambda value: (
                None
                if value in project_names
                else f"{show(value)} is not a declared project (cluster_projects)"
            ),
        )
        yield from _bool_field(item, "admin")
        yield from _bool_field(item, "locked")


def _ssh_key_problem(value: object) -> str | None:
    if isinstance(value, str) and SSH_KEY.fullmatch(value.strip()):
        return None
    return "is not an SSH public key (type, base64 key, optional comment, on one line)"


def _list_field(
    item: _Item, name: str, element_problem: Callable[[object], str | None]
) -> Iterator[Problem]:
    value, line = item.field(name)
    if value is None:
        return
    if not isinstance(value, Sequence) or isinstance(value, str):
        yield item.problem(name, "expected a list", line)
        return
    for index, element in enumerate(value):
        message = element_problem(element)
        if message is not None:
            yield item.problem(f"{name}[{index}]", message, line)


def people_problems(inv: RawInventory) -> Iterator[Problem]:
    """Every problem in the people and projects declaration."""
    taken = reserved(inv)
    yield from _first_id_problems(inv)
    yield from _group_problems(inv, taken)
    projects, problems = _items(inv.cluster_vars.get("cluster_projects"), "cluster_projects")
    yield from problems
    yield from _project_problems(inv, projects, taken)
    project_names = {
        str(item.value.get("name"))
        for item in projects
        if isinstance(item.value, Mapping) and item.value.get("name") is not None
    }
    users, problems = _items(inv.cluster_vars.get("cluster_users"), "cluster_users")
    yield from problems
    yield from _user_problems(users, project_names, taken)
