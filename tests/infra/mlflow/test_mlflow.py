"""Role mlflow, on the management node: the tracking server answers over HTTPS from the
cluster CA on the management address only, PostgreSQL only on loopback; anonymous clients
are refused; an account logs a run (parameter, metric, artifact) with the real MLflow client
and reads it back, another account cannot read it, the administrator can."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://management"]

PROBE = (Path(__file__).parent / "mlflow_client_probe.py").read_text(encoding="utf-8")


def _tcp(host) -> list[str]:
    return [str(s) for s in host.socket.get_listening_sockets() if str(s).startswith("tcp")]


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
    tcp = _tcp(host)
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


def test_accounts_log_runs_and_read_only_what_they_may(host, server):
    result = host.run(
        'bash -c \'set -a; . %s; set +a; exec %s/bin/python -c "$0" "$@"\' %s %s %s',
        server["env"],
        server["venv"],
        PROBE,
        server["url"],
        server["ca"],
    )
    assert result.rc == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["param"] == "0.01" and outcome["metric"] == 0.25, outcome
    assert outcome["artifact_sha256"] == outcome["expected_sha256"], outcome
    assert outcome["anonymous_reads_run"] == 401, outcome
    assert outcome["other_reads_run"] == 403, outcome
    assert outcome["other_reads_artifact"] == 403, outcome
    assert outcome["admin_reads_run"] == 200, outcome
