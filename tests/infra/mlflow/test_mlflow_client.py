"""Role mlflow's clients, on login nodes: every session knows the server and trusts its CA,
and each declared user's stored login works with the real MLflow client and no setup: a
project member logs a run as themselves; a member of another project cannot read it."""

from __future__ import annotations

import json
import secrets

import pytest

from tests.infra.mlflow_helpers import PROBE

testinfra_hosts = ["ansible://login"]

HEALTH = """
import ssl, sys, urllib.request
context = ssl.create_default_context(cafile=sys.argv[2])
print(urllib.request.urlopen(sys.argv[1] + "/health", timeout=10, context=context).status)
"""


def _session_environment(host) -> dict[str, str]:
    lines = host.file("/etc/environment").content_string.splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _as_user(host, inventory, user: str, *probe_args: str) -> dict:
    """MLflow's client probe run as `user`, with the environment every session gets."""
    result = host.run(
        "set -a; . /etc/environment; exec runuser -u %s -- %s/bin/python -c %s %s %s",
        user,
        inventory.setting("mlflow_venv"),
        PROBE,
        *probe_args,
    )
    assert result.rc == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_session_knows_the_server_and_trusts_its_ca(host, inventory):
    environment = _session_environment(host)
    uri = environment["MLFLOW_TRACKING_URI"]
    assert uri == inventory.setting("mlflow_tracking_uri")
    ca_file = environment["MLFLOW_TRACKING_SERVER_CERT_PATH"]
    assert host.check_output("python3 -c %s %s %s", HEALTH, uri, ca_file) == "200"


def test_each_user_has_a_login_only_they_read(host, cast):
    for user in (cast.member, cast.outsider):
        login = host.file(f"{host.user(user).home}/.mlflow/credentials")
        assert (login.user, login.mode) == (user, 0o600), user
        assert f"mlflow_tracking_username = {user}" in login.content_string


def test_users_log_and_read_with_their_stored_login(host, inventory, cast):
    experiment = f"{cast.project}/client-{secrets.token_hex(4)}"
    logged = _as_user(host, inventory, cast.member, "log", experiment)
    try:
        assert logged["metric"] == 0.25, logged
        assert logged["artifact_sha256"] == logged["expected_sha256"], logged
        assert _as_user(host, inventory, cast.member, "read", logged["run_id"])["status"] == 200
        assert _as_user(host, inventory, cast.outsider, "read", logged["run_id"]) == {"status": 403}
    finally:
        _as_user(host, inventory, cast.member, "delete", logged["experiment_id"])


def test_the_client_is_on_every_users_path(host, inventory):
    if not inventory.setting("mlflow_client_install"):
        pytest.skip(f"not executed here: the client is not installed on {inventory.name}")
    assert host.run("runuser -u nobody -- mlflow --version").rc == 0
