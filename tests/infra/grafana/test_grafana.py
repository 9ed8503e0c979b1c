"""Role grafana, on the management node: where it is on, Grafana answers over HTTPS from the
cluster CA on the management address only, lets its administrator in and nobody anonymous,
reaches Prometheus through its data source, and holds the overview dashboard; where it is
off, nothing of it runs, and the output says Grafana was not executed."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.infra.sockets import listening_tcp

testinfra_hosts = ["ansible://management"]


def test_switched_off_nothing_runs(host, inventory):
    if inventory.setting("grafana_enabled"):
        pytest.skip("Grafana is on here: the next test checks it")
    assert not host.package("grafana").is_installed
    assert listening_tcp(host, int(inventory.setting("grafana_port"))) == []


def test_grafana_serves_the_overview_from_prometheus(host, inventory, metrics):
    if not inventory.setting("grafana_enabled"):
        pytest.skip(
            f"not executed here: grafana_enabled is false on {inventory.name} (Grafana's "
            "repository is not reachable from these machines)"
        )
    assert host.service("grafana-server").is_running
    port = int(inventory.setting("grafana_port"))
    address = str(inventory.setting("grafana_listen_address"))
    assert listening_tcp(host, port) == [f"tcp://{address}:{port}"]
    base = f"https://{address}:{port}"
    admin = str(inventory.setting("grafana_admin_user"))
    password_file = Path(inventory.setting("grafana_admin_password_file"))
    password = password_file.read_text(encoding="utf-8").split()[0]

    def get(path: str, account: tuple[str, str] | None) -> tuple[int, dict]:
        request = urllib.request.Request(base + path)
        if account:
            token = base64.b64encode(f"{account[0]}:{account[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=10, context=metrics.context()) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, {}

    assert get("/api/health", None)[0] == 200
    assert get("/api/search", None)[0] == 401
    status, health = get("/api/datasources/uid/gpucluster-prometheus/health", (admin, password))
    assert status == 200 and health.get("status") == "OK", health
    status, dashboard = get("/api/dashboards/uid/gpucluster-overview", (admin, password))
    assert status == 200 and dashboard["dashboard"]["title"] == "gpucluster overview"
