"""Declaring users and projects in the inventory, with the same safety as add-node.

`gpucluster user add`, `user lock` and `project add` change the people declaration in the
operator's group_vars. The functions here only pick the target file and change its document
in memory; reading, validating the whole inventory, keeping comments, layout and line ends,
and writing atomically is `edit.Edit`, the same edit every node edit goes through, so a
rejected edit leaves every file exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from gpucluster.inventory.edit import Edit
from gpucluster.inventory.files import parse_yaml
from gpucluster.inventory.load import load_cluster
from gpucluster.inventory.model import Cluster
from gpucluster.inventory.people_rules import FIRST_ID_VAR, LAST_ID, first_id
from gpucluster.inventory.problems import InventoryError, Problem
from gpucluster.inventory.raw import key_line

PEOPLE_FILE = Path("group_vars") / "all" / "people.yml"
"""Where the declaration goes when the inventory has none yet."""
_NEW_FILE_TEXT = (
    "---\n"
    "# People and projects of the cluster: LDAP users and groups, project directories.\n"
    "# Edited by `gpucluster user ...` and `gpucluster project ...`; comments are kept.\n"
)
FIRST_UID = 10001
FIRST_PROJECT_GID = 20001


@dataclass(frozen=True)
class NewUser:
    """A user as typed on the command line; validated with the rest of the inventory."""

    name: str
    projects: tuple[str, ...]
    ssh_keys: tuple[str, ...]
    full_name: str | None = None
    uid: int | None = None
    admin: bool = False


@dataclass(frozen=True)
class NewProject:
    name: str
    gid: int | None = None
    description: str | None = None


def _open(path: Path, variable: str) -> Edit:
    """Read the inventory; the target is the last vars file that declares `variable`.

    Ansible lets a later group_vars file win, so that is the definition in effect. With
    no declaration anywhere, the other people variable's file is used; else a new
    group_vars/all/people.yml when the cluster's variables live in group_vars/all/ (or
    nowhere yet), else group_vars/all.yml itself (a directory beside it would hide it).
    """
    edit = Edit.open(path)
    vars_files = edit.vars_files
    for wanted in (variable, "cluster_users", "cluster_projects"):
        for file in reversed(vars_files):
            if isinstance(file.document, Mapping) and wanted in file.document:
                edit.target = file.path
                return edit
    if vars_files and vars_files[-1].path.parent.name != "all":
        edit.target = vars_files[-1].path
        return edit
    new_file = parse_yaml(edit.hosts.path.parent / PEOPLE_FILE, _NEW_FILE_TEXT)
    vars_files.append(new_file)
    edit.target, edit.created = new_file.path, True
    return edit


def _document(edit: Edit) -> CommentedMap:
    """The target's mapping, or InventoryError when the file cannot be edited."""
    file = edit.file
    if not file.usable or file.encrypted:
        edit.validate()  # raises with the reason
        reason = "vault-encrypted: edit it with ansible-vault" if file.encrypted else ""
        raise InventoryError([Problem(file.path, None, None, None, reason)])
    document = file.document
    if document is None:
        document = CommentedMap()
        edit.set_file(replace(file, document=document))
    if not isinstance(document, CommentedMap):
        raise InventoryError(
            [Problem(file.path, None, None, None, "expected a mapping of variables")]
        )
    return document


def _entries(edit: Edit, variable: str) -> CommentedSeq:
    """The list held by `variable` in the target file, created when absent."""
    document = _document(edit)
    if document.get(variable) is None:
        document[variable] = CommentedSeq()
    value = document[variable]
    if not isinstance(value, CommentedSeq):
        edit.validate()  # raises: not a list
        raise InventoryError([Problem(edit.target, None, None, variable, "not a list")])
    return value


def _all_declared(edit: Edit, variable: str) -> list[Mapping[object, object]]:
    """Every entry of `variable` in effect (the last file declaring it wins, as in Ansible)."""
    for file in reversed(edit.vars_files):
        document = file.document
        if isinstance(document, Mapping) and isinstance(document.get(variable), Sequence):
            return [item for item in document[variable] if isinstance(item, Mapping)]
    return []


def _first_declared_id(edit: Edit) -> int:
    """cluster_people_first_id as the inventory sets it (the last file wins, as in Ansible)."""
    for file in reversed(edit.vars_files):
        document = file.document
        if isinstance(document, Mapping) and FIRST_ID_VAR in document:
            return first_id(document[FIRST_ID_VAR])
    return first_id(None)


def _next_id(edit: Edit, taken: Sequence[object], first: int) -> int:
    """The next free id after the highest declared one, never below the configured first id."""
    start = max(first, _first_declared_id(edit))
    ids = range(start, LAST_ID + 1)
    numbers = [value for value in taken if isinstance(value, int) and value in ids]
    return max([start - 1, *numbers]) + 1


def _edit(path: Path, variable: str, change: Callable[[Edit], None]) -> Cluster:
    """Apply a people change through the one safe edit, like every node edit."""
    edit = _open(path, variable)
    change(edit)
    return edit.commit()


def add_user(path: Path, new: NewUser) -> Cluster:
    """Declare a new user; the uid is the next free one unless given."""

    def change(edit: Edit) -> None:
        users = _entries(edit, "cluster_users")
        existing = _all_declared(edit, "cluster_users")
        if any(user.get("name") == new.name for user in existing):
            edit.problems.append(
                Problem(edit.file.path, None, None, "cluster_users", f"{new.name} already exists")
            )
        entry = CommentedMap()
        entry["name"] = new.name
        uids = [user.get("uid") for user in existing]
        # An explicit id is kept as given (0 included) for the rules to judge, never replaced.
        entry["uid"] = new.uid if new.uid is not None else _next_id(edit, uids, FIRST_UID)
        entry["full_name"] = new.full_name or new.name
        entry["ssh_keys"] = CommentedSeq(new.ssh_keys)
        entry["projects"] = CommentedSeq(new.projects)
        entry["admin"] = new.admin
        users.append(entry)

    return _edit(path, "cluster_users", change)


def set_user_locked(path: Path, name: str, locked: bool) -> Cluster:
    """Lock (or unlock) a declared user. Locked users stay in LDAP but cannot log in."""

    def change(edit: Edit) -> None:
        for user in _entries(edit, "cluster_users"):
            if isinstance(user, CommentedMap) and user.get("name") == name:
                user["locked"] = locked
                return
        edit.problems.append(
            Problem(edit.file.path, None, None, "cluster_users", f"no user {name} is declared here")
        )

    return _edit(path, "cluster_users", change)


def add_project(path: Path, new: NewProject) -> Cluster:
    """Declare a new project; the gid is the next free one unless given."""

    def change(edit: Edit) -> None:
        projects = _entries(edit, "cluster_projects")
        existing = _all_declared(edit, "cluster_projects")
        if any(project.get("name") == new.name for project in existing):
            edit.problems.append(
                Problem(
                    edit.file.path, None, None, "cluster_projects", f"{new.name} already exists"
                )
            )
        entry = CommentedMap()
        entry["name"] = new.name
        gids = [project.get("gid") for project in existing]
        entry["gid"] = new.gid if new.gid is not None else _next_id(edit, gids, FIRST_PROJECT_GID)
        if new.description:
            entry["description"] = new.description
        projects.append(entry)

    return _edit(path, "cluster_projects", change)


# --- repeats: is the declaration already in place? -------------------------------------------
#
# `user add` and `project add` commit the edit before the run. When the run fails or is cut
# short, the operator repeats the command; finding exactly that declaration already in place,
# the command goes straight to the run. Options the operator did not give (a uid, a full name,
# a gid, a description) were left to the command to choose, so any value satisfies them.


def _declared(path: Path, variable: str, name: str) -> tuple[Path, Mapping[object, object]] | None:
    """The file and entry declaring `name` in `variable`, after validating the inventory."""
    load_cluster(path)  # an invalid inventory is refused here as it would be by the edit
    edit = _open(path, variable)
    for file in reversed(edit.vars_files):
        document = file.document
        if isinstance(document, Mapping) and isinstance(document.get(variable), Sequence):
            for item in document[variable]:
                if isinstance(item, Mapping) and item.get("name") == name:
                    return file.path, item
            return None
    return None


def _conflicts(
    file: Path,
    entry: Mapping[object, object],
    variable: str,
    name: str,
    differences: dict[str, tuple[object, object]],
) -> InventoryError:
    problems = []
    for key, (have, wanted) in differences.items():
        line = key_line(entry, key) if key in entry else key_line(entry, "name")
        message = (
            f"{name} is already declared with {key} {have!r}, the command gives {wanted!r}: "
            "repeat the command with the declared values to finish it, or edit the declaration"
        )
        problems.append(Problem(file, line, None, f"{variable}: {key}", message))
    return InventoryError(problems)


def _strings(value: object) -> set[str]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return set()
    return {str(item).strip() for item in value}


def user_in_place(path: Path, new: NewUser) -> str | None:
    """A message when `new` is already declared as given; None when not declared at all.

    Raises InventoryError naming every field that differs (a locked user included).
    """
    found = _declared(path, "cluster_users", new.name)
    if found is None:
        return None
    file, entry = found
    differences: dict[str, tuple[object, object]] = {}
    if new.uid is not None and entry.get("uid") != new.uid:
        differences["uid"] = (entry.get("uid"), new.uid)
    if new.full_name is not None and entry.get("full_name") != new.full_name:
        differences["full_name"] = (entry.get("full_name"), new.full_name)
    if _strings(entry.get("ssh_keys")) != set(new.ssh_keys):
        differences["ssh_keys"] = (
            f"{len(_strings(entry.get('ssh_keys')))} key(s)",
            f"{len(set(new.ssh_keys))} other key(s)",
        )
    if _strings(entry.get("projects")) != set(new.projects):
        differences["projects"] = (
            sorted(_strings(entry.get("projects"))),
            sorted(set(new.projects)),
        )
    if bool(entry.get("admin", False)) != new.admin:
        differences["admin"] = (bool(entry.get("admin", False)), new.admin)
    if entry.get("locked") is True:
        differences["locked"] = (True, "an active user (`gpucluster user unlock` does that)")
    if differences:
        raise _conflicts(file, entry, "cluster_users", new.name, differences)
    return f"user {new.name} is already declared in {file} as given"


def user_lock_in_place(path: Path, name: str, locked: bool) -> str | None:
    """A message when user `name` is already declared locked (or unlocked) as asked; None
    when the edit is still to be made (an undeclared user is refused by the edit itself)."""
    found = _declared(path, "cluster_users", name)
    if found is None or (found[1].get("locked") is True) != locked:
        return None
    state = "locked" if locked else "not locked"
    return f"user {name} is already {state} in {found[0]}"


def project_in_place(path: Path, new: NewProject) -> str | None:
    """Like user_in_place, for a project."""
    found = _declared(path, "cluster_projects", new.name)
    if found is None:
        return None
    file, entry = found
    differences: dict[str, tuple[object, object]] = {}
    if new.gid is not None and entry.get("gid") != new.gid:
        differences["gid"] = (entry.get("gid"), new.gid)
    if new.description and entry.get("description") != new.description:
        differences["description"] = (entry.get("description"), new.description)
    if differences:
        raise _conflicts(file, entry, "cluster_projects", new.name, differences)
    return f"project {new.name} is already declared in {file} as given"
