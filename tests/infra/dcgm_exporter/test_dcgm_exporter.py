"""Role dcgm_exporter, on GPU nodes: where there is a GPU (and it is on), NVIDIA's exporter
answers on the management address only, over TLS from the cluster CA and only to Prometheus'
scrape account, with GPU series for every GPU; where there is none, nothing runs and nothing
listens, and the output says the exporter was not executed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.infra.sockets import listening_tcp

testinfra_hosts = ["ansible://gpu"]

ROOT = Path(__file__).resolve().parents[3]
DETECT = ROOT / "roles" / "nvidia_driver" / "files" / "nvidia_gpus.py"
UNIT = "/etc/systemd/system/gpucluster-dcgm-exporter.service"


def _gpus(host) -> int:
    return int(json.loads(host.check_output("python3 -c %s", DETECT.read_text()))["count"])


def test_without_a_gpu_or_switched_off_nothing_runs(host, inventory):
    port = int(inventory.setting("cluster_dcgm_exporter_port", of=inventory.name))
    enabled = bool(inventory.setting("cluster_dcgm_exporter_enabled", of=inventory.name))
    if enabled and _gpus(host):
        pytest.skip("this GPU node runs the exporter: the next test checks it")
    assert not host.file(UNIT).exists
    assert listening_tcp(host, port) == []


def test_the_exporter_serves_every_gpu_to_prometheus_only(host, inventory, metrics):
    enabled = bool(inventory.setting("cluster_dcgm_exporter_enabled", of=inventory.name))
    gpus = _gpus(host)
    if not enabled or not gpus:
        pytest.skip(
            f"not executed here: {inventory.name} "
            + ("has dcgm_exporter_enabled false" if not enabled else "has no NVIDIA GPU")
            + ", so NVIDIA's DCGM exporter does not run on it"
        )
    assert host.service("gpucluster-dcgm-exporter").is_running
    port = int(inventory.setting("cluster_dcgm_exporter_port", of=inventory.name))
    address = inventory.management_address(inventory.name)
    assert listening_tcp(host, port) == [f"tcp://{address}:{port}"]
    url = f"https://{address}:{port}/metrics"
    assert metrics.get(url)[0] == 401
    status, body = metrics.get(url, metrics.scrape_username)
    assert status == 200, body[:300]
    utilization = [line for line in body.splitlines() if line.startswith("DCGM_FI_DEV_GPU_UTIL{")]
    assert len(utilization) == gpus, utilization
