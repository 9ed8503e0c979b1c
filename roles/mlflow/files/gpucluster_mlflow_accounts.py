"""Bring MLflow's accounts and project roles in step with the people declaration.

Role mlflow runs this with the server's Python on every install and people run. It reads
one JSON object on stdin (never a command line, it holds passwords):

    {"users": [{"name": "alice", "admin": false, "projects": ["vision"], ...}],
     "passwords": {"alice": "..."}, "projects": ["vision", "nlp"], "keep": ["gpucluster-admin"]}

`users` are the declared, unlocked people (their entries of cluster_users), `passwords`
their generated MLflow passwords. Afterwards:
- each of them has an account with that password and that admin flag;
- every other account is deleted (a locked or removed user is refused at once), except
  those in `keep` (the server's administrator);
- each project has the role `project:<name>`, held by exactly its members; a role of a
  project no longer declared is deleted;
- each project's role holds EDIT on every experiment named `<project>/...` (new ones are
  granted when created, by gpucluster_mlflow_auth; this catches experiments created before
  the project was declared, by an administrator, or brought back by a restore).

The server's environment file (argv[1]) gives the tracking database; MLflow's auth
configuration (MLFLOW_AUTH_CONFIG_PATH there) gives the accounts database. Prints one JSON
object: {"changes": [...]}, the list empty when nothing had to change.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy
from dotenv import dotenv_values

PROJECT_ROLE_PREFIX = "project:"
MEMBER_PERMISSION = "EDIT"

if TYPE_CHECKING:
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore


def _experiments_by_project(tracking_uri: str, projects: set[str]) -> dict[str, set[str]]:
    """The ids of every experiment (deleted ones too: they can be restored) per project."""
    engine = sqlalchemy.create_engine(tracking_uri)
    with engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("SELECT experiment_id, name FROM experiments"))
        found: dict[str, set[str]] = {project: set() for project in projects}
        for experiment_id, name in rows:
            project, separator, rest = str(name).partition("/")
            if separator and rest and project in found:
                found[project].add(str(experiment_id))
    engine.dispose()
    return found


def _sync_accounts(store: SqlAlchemyStore, spec: dict, changes: list[str]) -> None:
    declared = {user["name"]: user for user in spec["users"]}
    keep = set(spec["keep"])
    for account in store.list_users():
        if account.username not in declared and account.username not in keep:
            store.delete_user(account.username)
            changes.append(f"deleted account {account.username}")
    for name, user in declared.items():
        password, admin = spec["passwords"][name], bool(user.get("admin", False))
        if not store.has_user(name):
            store.create_user(name, password, is_admin=admin)
            changes.append(f"created account {name}")
            continue
        if not store.authenticate_user(name, password):
            store.update_user(name, password=password)
            changes.append(f"reset the password of {name}")
        if store.get_user(name).is_admin != admin:
            store.update_user(name, is_admin=admin)
            changes.append(f"set admin={admin} for {name}")


def _sync_roles(
    store: SqlAlchemyStore,
    workspace: str,
    spec: dict,
    experiments: Callable[[set[str]], dict[str, set[str]]],
    changes: list[str],
) -> None:
    projects = set(spec["projects"])
    roles = {
        role.name.removeprefix(PROJECT_ROLE_PREFIX): role
        for role in store.list_roles([workspace])
        if role.name.startswith(PROJECT_ROLE_PREFIX)
    }
    for project in sorted(set(roles) - projects):
        store.delete_role(roles.pop(project).id)
        changes.append(f"deleted role {PROJECT_ROLE_PREFIX}{project}")
    for project in sorted(projects - set(roles)):
        roles[project] = store.create_role(
            PROJECT_ROLE_PREFIX + project, workspace, f"members of project {project}"
        )
        changes.append(f"created role {PROJECT_ROLE_PREFIX}{project}")
    user_ids = {account.username: account.id for account in store.list_users()}
    granted = experiments(projects)
    for project, role in sorted(roles.items()):
        members = {u["name"] for u in spec["users"] if project in u.get("projects", [])}
        holders = {
            name
            for name, user_id in user_ids.items()
            if user_id in {a.user_id for a in store.list_role_users(role.id)}
        }
        for name in sorted(members - holders):
            store.assign_role_to_user(user_ids[name], role.id)
            changes.append(f"{name} joined {PROJECT_ROLE_PREFIX}{project}")
        for name in sorted(holders - members):
            store.unassign_role_from_user(user_ids[name], role.id)
            changes.append(f"{name} left {PROJECT_ROLE_PREFIX}{project}")
        held = {
            p.resource_pattern: p
            for p in store.list_role_permissions(role.id)
            if p.resource_type == "experiment"
        }
        for experiment_id in sorted(granted[project] - set(held)):
            store.add_role_permission(role.id, "experiment", experiment_id, MEMBER_PERMISSION)
            changes.append(f"experiment {experiment_id} granted to {PROJECT_ROLE_PREFIX}{project}")
        for experiment_id in sorted(set(held) - granted[project]):
            store.remove_role_permission(held[experiment_id].id)
            changes.append(f"experiment {experiment_id} no longer {PROJECT_ROLE_PREFIX}{project}")


def main() -> int:
    spec = json.load(sys.stdin)
    environment = dotenv_values(sys.argv[1])
    os.environ.update({key: value for key, value in environment.items() if value is not None})
    # Imported after the environment is set: MLflow reads its configuration on import.
    from mlflow.server.auth.config import read_auth_config
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore
    from mlflow.utils.workspace_utils import DEFAULT_WORKSPACE_NAME

    store = SqlAlchemyStore()
    store.init_db(read_auth_config().database_uri)
    changes: list[str] = []
    _sync_accounts(store, spec, changes)
    tracking_uri = environment["MLFLOW_BACKEND_STORE_URI"]
    _sync_roles(
        store,
        DEFAULT_WORKSPACE_NAME,
        spec,
        lambda projects: _experiments_by_project(tracking_uri, projects),
        changes,
    )
    print(json.dumps({"changes": changes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
