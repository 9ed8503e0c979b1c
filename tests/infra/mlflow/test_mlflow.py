"""Role mlflow, on the management node: the tracking server answers over HTTPS from the
cluster CA on the management address only, PostgreSQL only on loopback. A project member
logs a run (parameter, metric, artifact) with the real MLflow client and reads it back;
another member of the project reads and writes it; a member of another project, a locked
user and anonymous clients cannot; the admin can. Experiments stay inside their project,
and only admins manage accounts and grants."""

from __future__ import annotations

import json
import secrets
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.infra.mlflow_helpers import PROBE
from tests.infra.sockets import listening_tcp

testinfra_hosts = ["ansible://management"]


@pytest.fixture
def server(inventory) -> dict[str, str]:
    address = str(inventory.setting("mlflow_listen_address"))
    port = int(inventory.setting("cluster_mlflow_port"))
    config = str(inventory.setting("mlflow_config_dir"))
    return {
        "url": f"https://{address}:{port}",
        "address": address,
        "port": str(port),
        "ca": f"{config}/tls/ca.crt",
        "env": f"{config}/mlflow.env",
        "venv": str(inventory.setting("mlflow_venv")),
    }


def test_it_listens_on_the_management_address_and_postgresql_on_loopback(host, server):
    assert host.service("gpucluster-mlflow").is_running
    tcp = listening_tcp(host)
    port = server["port"]
    assert [s for s in tcp if s.endswith(f":{port}")] == [f"tcp://{server['address']}:{port}"]
    postgres = {s for s in tcp if s.endswith(":5432")}
    assert postgres and postgres <= {"tcp://127.0.0.1:5432", "tcp://::1:5432"}, postgres


def test_secrets_stay_off_the_command_line_and_out_of_reach(host, server):
    environment = host.file(server["env"])
    assert (environment.user, environment.group, environment.mode) == ("root", "root", 0o600)
    command_line = host.check_output(
        "cat /proc/$(systemctl show -p MainPID --value gpucluster-mlflow)/cmdline | tr '\\0' ' '"
    )
    assert "postgresql://" not in command_line and "PASSWORD" not in command_line


def test_only_tls_clients_that_trust_the_cluster_ca_get_an_answer(host, server):
    ca_pem = host.file(server["ca"]).content_string
    health = f"{server['url']}/health"
    with urllib.request.urlopen(
        health, timeout=10, context=ssl.create_default_context(cadata=ca_pem)
    ) as answer:
        assert answer.status == 200
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen(health, timeout=10, context=ssl.create_default_context())
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(health.replace("https://", "http://"), timeout=10).read()


class Accounts:
    """The declared people's MLflow logins (from the controller's secrets) and REST calls."""

    def __init__(self, inventory, server: dict[str, str], ca_file: Path) -> None:
        self.url = server["url"]
        self.ca = str(ca_file)
        self.password_dir = Path(inventory.setting("mlflow_user_password_dir"))

    def has_login(self, name: str) -> bool:
        return (self.password_dir / f"{name}.password").exists()

    def login(self, name: str) -> tuple[str, str]:
        return name, (self.password_dir / f"{name}.password").read_text().split()[0]

    def call(self, who: str | None, method: str, path: str, **body) -> requests.Response:
        auth = self.login(who) if who else None
        if method == "GET":
            return requests.get(
                f"{self.url}{path}", params=body, auth=auth, verify=self.ca, timeout=30
            )
        return requests.post(f"{self.url}{path}", json=body, auth=auth, verify=self.ca, timeout=30)


@pytest.fixture
def accounts(host, inventory, server, tmp_path) -> Accounts:
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(host.file(server["ca"]).content_string)
    return Accounts(inventory, server, ca_file)


@pytest.fixture(scope="module")
def cleanups() -> Iterator[list]:
    """Calls that undo what this module's tests made on the server, run at its end."""
    undo: list = []
    yield undo
    for call in undo:
        call()


@pytest.fixture(scope="module")
def logged_runs() -> dict:
    return {}


@pytest.fixture
def logged_run(host, server, accounts, cast, cleanups, logged_runs) -> dict:
    """The member logs a run with the real MLflow client on the node, their login in a
    private home (0700, on tmpfs) as on a login node: once per module; the experiment is
    deleted at the end."""
    if host.backend.host in logged_runs:
        return logged_runs[host.backend.host]
    name, password = accounts.login(cast.member)
    home = f"/run/gpucluster-mlflow-probe-{secrets.token_hex(4)}"
    # The password travels in a 0600 file (copy hides its content), never a command line.
    host.run_expect([0], "install -d -m 0700 %s", home)
    host.ansible("copy", f"content='{password}' dest={home}/password mode=0600", check=False)
    experiment = f"{cast.project}/verify-{secrets.token_hex(4)}"
    login_file = (
        'umask 077; mkdir -p "$HOME/.mlflow"; printf "[mlflow]\\n'
        'mlflow_tracking_username = %s\\nmlflow_tracking_password = %s\\n" '
        '"$1" "$(cat "$HOME/password")" > "$HOME/.mlflow/credentials"'
    )
    try:
        result = host.run(
            "HOME=%s MLFLOW_TRACKING_URI=%s MLFLOW_TRACKING_SERVER_CERT_PATH=%s "
            "bash -c %s %s %s %s",
            home,
            server["url"],
            server["ca"],
            f'{login_file}; exec {server["venv"]}/bin/python -c "$0" log "$2"',
            PROBE,
            name,
            experiment,
        )
    finally:
        host.run("rm -rf %s", home)
    assert result.rc == 0, result.stderr[-3000:]
    logged = {"experiment": experiment, **json.loads(result.stdout.strip().splitlines()[-1])}
    cleanups.append(
        lambda: accounts.call(
            cast.member, "POST", "/api/2.0/mlflow/experiments/delete",
            experiment_id=logged["experiment_id"],
        )
    )  # fmt: skip
    logged_runs[host.backend.host] = logged
    return logged


def test_a_member_logs_a_run_with_the_real_client(logged_run):
    assert logged_run["param"] == "0.01" and logged_run["metric"] == 0.25, logged_run
    assert logged_run["artifact_sha256"] == logged_run["expected_sha256"], logged_run


GET_RUN = "/api/2.0/mlflow/runs/get"


def test_other_projects_and_anonymous_clients_cannot_read_it(accounts, cast, logged_run):
    run = {"run_id": logged_run["run_id"]}
    artifact = (
        f"/api/2.0/mlflow-artifacts/artifacts/{logged_run['experiment_id']}/"
        f"{logged_run['run_id']}/artifacts/result.txt"
    )
    codes = {
        "outsider reads the run": accounts.call(cast.outsider, "GET", GET_RUN, **run),
        "outsider reads the artifact": accounts.call(cast.outsider, "GET", artifact),
        "anonymous reads the run": accounts.call(None, "GET", GET_RUN, **run),
    }
    assert {what: answer.status_code for what, answer in codes.items()} == {
        "outsider reads the run": 403,
        "outsider reads the artifact": 403,
        "anonymous reads the run": 401,
    }, (cast, {what: answer.status_code for what, answer in codes.items()})
    searched = accounts.call(
        cast.outsider, "POST", "/api/2.0/mlflow/experiments/search", max_results=1000
    )
    assert searched.status_code == 200, searched.text[:300]
    seen = {e["name"] for e in searched.json().get("experiments", [])}
    assert logged_run["experiment"] not in seen


def test_a_teammate_reads_and_writes_it(accounts, cast, logged_run):
    if not cast.teammate:
        pytest.skip(f"not executed here: {cast.project} has one member only")
    run = {"run_id": logged_run["run_id"]}
    read = accounts.call(cast.teammate, "GET", GET_RUN, **run)
    assert read.status_code == 200, read.text[:300]
    metric = {"key": "loss", "value": 0.2, "timestamp": 0, **run}
    logged = accounts.call(cast.teammate, "POST", "/api/2.0/mlflow/runs/log-metric", **metric)
    assert logged.status_code == 200, logged.text[:300]


def test_a_locked_users_login_is_refused(accounts, cast, logged_run):
    if not (cast.locked and accounts.has_login(cast.locked)):
        pytest.skip("not executed here: nobody locked once had a login (a generated password)")
    answer = accounts.call(cast.locked, "GET", GET_RUN, run_id=logged_run["run_id"])
    assert answer.status_code == 401, answer.text[:300]


def test_an_admin_reads_it(accounts, cast, logged_run):
    if not cast.admin:
        pytest.skip("not executed here: no user is declared admin")
    answer = accounts.call(cast.admin, "GET", GET_RUN, run_id=logged_run["run_id"])
    assert answer.status_code == 200, answer.text[:300]


def test_experiments_stay_inside_their_project(accounts, cast, logged_run, cleanups):
    create = "/api/2.0/mlflow/experiments/create"
    tag = secrets.token_hex(4)
    mine, theirs = cast.project, cast.outsider_project
    attempts = {
        "outsider creates in the project": (cast.outsider, create, {"name": f"{mine}/{tag}"}),
        "member creates in another project": (cast.member, create, {"name": f"{theirs}/{tag}"}),
        "member creates outside projects": (cast.member, create, {"name": f"verify-{tag}"}),
        "member moves the experiment away": (
            cast.member, "/api/2.0/mlflow/experiments/update",
            {"experiment_id": logged_run["experiment_id"], "new_name": f"{theirs}/{tag}"},
        ),
        "member shares it with the outsider": (
            cast.member, "/api/3.0/mlflow/users/permissions/grant",
            {"username": cast.outsider, "resource_type": "experiment",
             "resource_id": logged_run["experiment_id"], "permission": "READ"},
        ),
        "member makes an account": (
            cast.member, "/api/2.0/mlflow/users/create",
            {"username": f"x{tag}", "password": secrets.token_urlsafe(24)},
        ),
        "outsider creates in their own project": (
            cast.outsider, create, {"name": f"{theirs}/{tag}"},
        ),
    }  # fmt: skip
    answers = {
        what: accounts.call(who, "POST", path, **body)
        for what, (who, path, body) in attempts.items()
    }
    codes = {what: answer.status_code for what, answer in answers.items()}
    assert codes == {what: 403 for what in attempts} | {
        "outsider creates in their own project": 200
    }, {what: (answer.status_code, answer.text[:200]) for what, answer in answers.items()}
    created = answers["outsider creates in their own project"].json()["experiment_id"]
    cleanups.append(
        lambda: accounts.call(
            cast.outsider, "POST", "/api/2.0/mlflow/experiments/delete", experiment_id=created
        )
    )
    refused = answers["outsider creates in the project"]
    assert "one of your projects" in refused.text
    # It quotes the caller's text, so it must never be read as HTML.
    assert refused.headers["Content-Type"].startswith("text/plain"), refused.headers
