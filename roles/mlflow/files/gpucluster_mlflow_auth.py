"""MLflow's basic-auth login, plus the cluster's rule that projects decide who sees what.

The server's auth configuration names `authenticate` as its authorization_function, so
MLflow calls it on every request before its own permission checks. It logs the caller in
with MLflow's own basic auth and then enforces what MLflow alone cannot:

- An experiment belongs to the project its name starts with: `<project>/<anything>`. Only
  a member of that project (a holder of the role `project:<project>`, kept in step with the
  people declaration by gpucluster_mlflow_accounts) may create it or rename an experiment to
  it, and a rename never moves an experiment to another project.
- The new experiment is granted (EDIT) to its project's role as soon as it is created, so
  every member reads and writes it at once; members of other projects hold no grant and get
  403 (the server's default_permission is NO_PERMISSIONS).
- Accounts, roles and grants are managed by the administrators alone: otherwise the owner of
  an experiment could share it outside its project.

Administrators (is_admin, from `admin: true` in the declaration) skip the project rules, as
they skip MLflow's own checks; an experiment they create under a project prefix is still
granted to that project.
"""

from __future__ import annotations

import re

from flask import Response, after_this_request, g, request
from mlflow.server.auth import (
    authenticate_request_basic_auth,
    make_forbidden_response,
    store,
)
from mlflow.server.handlers import _get_tracking_store
from mlflow.utils.workspace_utils import DEFAULT_WORKSPACE_NAME
from werkzeug.datastructures import Authorization

PROJECT_ROLE_PREFIX = "project:"
MEMBER_PERMISSION = "EDIT"

# /api/2.0/mlflow/..., /ajax-api/3.0/mlflow/...: the part after "mlflow/".
_ENDPOINT = re.compile(r"^/(?:api|ajax-api)/[0-9.]+/mlflow/(?P<endpoint>.+)$")
_ADMIN_ONLY = re.compile(r"^(?:users/(?!current(?:/|$))|roles/)")


def project_of(experiment_name: str) -> str | None:
    """The project an experiment name claims: the text before its first '/'."""
    project, separator, rest = experiment_name.partition("/")
    return project if separator and project and rest else None


def _projects_of(username: str) -> set[str]:
    user = store.get_user(username)
    return {
        role.name.removeprefix(PROJECT_ROLE_PREFIX)
        for role in store.list_user_roles(user.id)
        if role.name.startswith(PROJECT_ROLE_PREFIX)
    }


def _refuse(message: str) -> Response:
    response = make_forbidden_response()
    response.set_data(message)
    # Plain text: the message may quote what the caller typed, never to be read as HTML.
    response.mimetype = "text/plain"
    return response


def _grant_to_project_after_create(project: str) -> None:
    """Grant the experiment this request creates to the project's role, once it exists."""

    @after_this_request
    def grant(response: Response) -> Response:
        if response.status_code != 200:
            return response
        experiment_id = str((response.get_json(silent=True) or {}).get("experiment_id", ""))
        if experiment_id:
            role = store.get_role_by_name(DEFAULT_WORKSPACE_NAME, PROJECT_ROLE_PREFIX + project)
            store.add_role_permission(role.id, "experiment", experiment_id, MEMBER_PERMISSION)
        return response


def _check(username: str) -> Response | None:
    """None when the project rules allow this request, else the refusal."""
    match = _ENDPOINT.match(request.path)
    if match is None:
        return None
    endpoint = match["endpoint"]
    is_admin = store.get_user(username).is_admin
    if _ADMIN_ONLY.match(endpoint) and not is_admin:
        return _refuse("accounts, roles and grants are managed by the cluster's administrators")
    if request.method != "POST" or endpoint not in ("experiments/create", "experiments/update"):
        return None
    body = request.get_json(silent=True) or {}
    name = str(body.get("name" if endpoint == "experiments/create" else "new_name") or "")
    if not name:
        return None  # MLflow itself answers a request without a name
    project = project_of(name)
    if is_admin:
        if endpoint == "experiments/create" and project in _declared_projects():
            _grant_to_project_after_create(project)
        return None
    projects = _projects_of(username)
    if project is None or project not in projects:
        return _refuse(
            f"experiment names start with one of your projects: <project>/...; '{name}' "
            f"does not (your projects: {', '.join(sorted(projects)) or 'none'})"
        )
    if endpoint == "experiments/update":
        current = _get_tracking_store().get_experiment(str(body.get("experiment_id", "")))
        if project_of(current.name) != project:
            return _refuse("an experiment stays in its project: rename it within the same prefix")
        return None
    _grant_to_project_after_create(project)
    return None


def _declared_projects() -> set[str]:
    return {
        role.name.removeprefix(PROJECT_ROLE_PREFIX)
        for role in store.list_roles([DEFAULT_WORKSPACE_NAME])
        if role.name.startswith(PROJECT_ROLE_PREFIX)
    }


def authenticate() -> Authorization | Response:
    """MLflow's basic auth, then the project rules (decided once per request)."""
    authorization = authenticate_request_basic_auth()
    if isinstance(authorization, Response):
        return authorization
    # MLflow calls this many times per request; the rules run (and register the grant) once.
    decided = getattr(g, "gpucluster_project_decision", None)
    if decided is None:
        decided = _check(authorization.username) or authorization
        g.gpucluster_project_decision = decided
    return decided
