"""Role node_exporter, on every node: the exporter answers on the management address only,
over TLS that the cluster CA vouches for, and only to Prometheus' scrape account; its
collectors report the systemd units, the cluster's certificates (checked against the files
themselves), whether this node can use the directory, the registry and the file server
(checked against stock clients) and, on a GPU node with nvidia-smi, GPU usage per user and
project."""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.request

import pytest

from tests.infra.monitoring_helpers import wait_for

CONFIG_DIR = "/etc/prometheus/node-exporter"


def _series(text: str, name: str) -> dict[str, float]:
    """{labels text: value} of one metric in an exposition text."""
    found = {}
    for line in text.splitlines():
        match = re.match(rf"^{name}(\{{.*\}})? (\S+)$", line)
        if match:
            found[match.group(1) or ""] = float(match.group(2))
    return found


def test_it_listens_on_the_management_address_only(host, inventory, metrics):
    service = host.service("prometheus-node-exporter")
    assert service.is_enabled and service.is_running
    port = metrics.node_exporter_port
    tcp = [str(s) for s in host.socket.get_listening_sockets() if str(s).startswith("tcp")]
    address = inventory.management_address(inventory.name)
    assert [s for s in tcp if s.endswith(f":{port}")] == [f"tcp://{address}:{port}"], tcp


def test_metrics_need_tls_and_the_scrape_account(inventory, metrics):
    url = metrics.node_metrics_url(inventory.name)
    assert metrics.get(url)[0] == 401, "anonymous"
    assert metrics.get(url, metrics.scrape_username, password="not-the-password")[0] == 401
    status, body = metrics.get(url, metrics.scrape_username)
    assert status == 200, body[:300]
    assert "node_systemd_unit_state{" in body, "systemd collector"
    assert "node_textfile_scrape_error 0" in body, "a textfile collector's file is broken"
    # Plain HTTP gets no metrics.
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(url.replace("https://", "http://"), timeout=5).read()
    # A client that trusts only the system store (not the cluster CA) refuses the server.
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen(url, timeout=5, context=ssl.create_default_context())
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)


def test_the_node_holds_only_password_hashes_and_a_private_key(host, metrics):
    web = host.file(f"{CONFIG_DIR}/web.yml")
    assert (web.user, web.group, web.mode) == ("root", "prometheus", 0o640)
    for account in (metrics.scrape_username,):
        assert metrics.password(account) not in web.content_string
        assert re.search(rf"^  \"?{account}\"?: \"\$2b\$", web.content_string, re.M)
    key = host.file(f"{CONFIG_DIR}/tls/node-exporter.key")
    assert key.group == "prometheus" and key.mode & 0o007 == 0, oct(key.mode)
    # The password itself stays on the controller, readable by its owner alone.
    secret = metrics.password_dir / f"{metrics.scrape_username}.password"
    assert secret.stat().st_mode & 0o777 == 0o600


def test_certificate_expiry_matches_the_certificates(host, inventory, metrics):
    url = metrics.node_metrics_url(inventory.name)

    def expiry_series():
        return _series(
            metrics.get(url, metrics.scrape_username)[1],
            "gpucluster_certificate_expiry_timestamp_seconds",
        )

    series = wait_for(expiry_series, timeout=30)
    own = f"{CONFIG_DIR}/tls/node-exporter.crt"
    mine = {labels: value for labels, value in series.items() if f'path="{own}"' in labels}
    assert len(mine) == 1, series
    end = host.check_output(
        'date -d "$(openssl x509 -enddate -noout -in %s | cut -d= -f2)" +%%s', own
    )
    assert list(mine.values()) == [float(end)]
    # The CA is reported once, though a copy of it lies beside every server certificate.
    subjects = [labels for labels in series if "cluster CA" in labels]
    assert len(subjects) == 1, series


def test_gpu_usage_per_user_and_project_on_gpu_nodes(host, inventory, metrics):
    if "gpu" not in inventory.vars["group_names"]:
        pytest.skip(f"{inventory.name} is not a GPU node")
    timer = host.service("gpucluster-gpu-usage.timer")
    assert timer.is_enabled and timer.is_running
    nvidia_smi = inventory.setting("node_exporter_nvidia_smi")
    if not host.file(nvidia_smi).exists:
        # systemd skips the service by its condition: no failed unit, no stale series.
        condition = wait_for(
            lambda: host.check_output("systemctl show -P ConditionResult gpucluster-gpu-usage"),
            timeout=20,
        )
        assert condition == "no"
        assert host.service("gpucluster-gpu-usage").is_running is False
        pytest.skip(f"not executed here: GPU usage series (no {nvidia_smi} on {inventory.name})")
    url = metrics.node_metrics_url(inventory.name)

    def gpu_series() -> str:
        body = metrics.get(url, metrics.scrape_username)[1]
        return body if "gpucluster_gpu_usage_up" in body else ""

    body = wait_for(gpu_series, timeout=30)
    assert _series(body, "gpucluster_gpu_usage_up") == {"": 1.0}
    assert _series(body, "gpucluster_gpu_info"), "one series per GPU"


def _independent_check(host, probe: dict, ca_file: str) -> bool:
    """Does the service answer this node, asked by a stock client instead of the collector?"""
    if probe["kind"] == "ldap":
        command = (
            "timeout 10 openssl s_client -brief -starttls ldap -verify_return_error "
            "-CAfile %s -verify_hostname %s -connect %s < /dev/null"
        )
        address = f"{probe['host']}:{probe['port']}"
        return host.run(command, ca_file, probe["host"], address).rc == 0
    if probe["kind"] == "https":
        status = host.run(
            "curl -s -o /dev/null -w %%{http_code} --max-time 10 --cacert %s %s",
            ca_file,
            probe["url"],
        ).stdout
        return status == str(probe["expect"])
    if probe["kind"] == "tcp":
        connect = f"exec 3<>/dev/tcp/{probe['host']}/{probe['port']}"
        return host.run("timeout 10 bash -c %s", connect).rc == 0
    raise AssertionError(f"unknown probe kind {probe['kind']}")


def test_service_probes_agree_with_independent_clients(host, inventory, metrics):
    settings = json.loads(host.file(f"{CONFIG_DIR}/collectors.json").content_string)
    probes = settings["service_probes"]
    if not probes:
        pytest.skip(f"no service is probed from {inventory.name}")
    # A fresh round now, rather than the timer's last one.
    started = host.run("systemctl start gpucluster-service-probes")
    assert started.rc == 0, started.stderr
    body = metrics.get(metrics.node_metrics_url(inventory.name), metrics.scrape_username)[1]
    found = _series(body, "gpucluster_probe_success")
    for probe in probes:
        target = probe.get("url") or f"{probe['host']}:{probe['port']}"
        labels = f'{{probe="{probe["name"]}",target="{target}"}}'
        assert labels in found, (labels, found)
        expected = _independent_check(host, probe, settings["ca_file"])
        assert found[labels] == (1.0 if expected else 0.0), (probe, found[labels])
