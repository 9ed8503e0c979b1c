"""A sandbox cluster, brought up once for the whole end-to-end module.

It runs with its own state directory so it never touches an operator's
sandbox state; set GPUCLUSTER_KEEP_SANDBOX=1 to leave the containers up after
the run for inspection.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gpucluster.metrics_api import PrometheusApi
from gpucluster.run_result import summary_named_in

ROOT = Path(__file__).resolve().parents[2]
SERVICE_NODES = ["login01", "mgmt01", "fs01", "backup01"]
ORIGINAL_NODES = [*SERVICE_NODES, "gpu01"]
"""The nodes `sandbox up --gpu-nodes 1` boots and the first install converges."""
SANDBOX_MANAGEMENT_ADDRESS = "10.221.0.12"
"""mgmt01's management address (gpucluster.sandbox.layout), where the alerts' webhook is."""


@dataclass
class CliResult:
    rc: int
    output: str

    @property
    def summary(self) -> dict:
        """The run's summary.json, found through the run directory the CLI names."""
        summary = summary_named_in(self.output)
        assert summary is not None, f"no run summary in output:\n{self.output}"
        return summary


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gpucluster-state")


@pytest.fixture(scope="session")
def gpucluster(state_dir: Path):
    env = dict(os.environ, GPUCLUSTER_STATE_DIR=str(state_dir), COLUMNS="160")

    def run(*args: str, timeout: int = 1200) -> CliResult:
        completed = subprocess.run(
            [sys.executable, "-m", "gpucluster.cli", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = completed.stdout + completed.stderr
        print(f"$ gpucluster {' '.join(args)}  -> rc {completed.returncode}\n{output}")
        return CliResult(completed.returncode, output)

    return run


@pytest.fixture(scope="session")
def sandbox_inventory(gpucluster, state_dir: Path):
    gpucluster("sandbox", "down")
    up = gpucluster("sandbox", "up", "--gpu-nodes", "1")
    assert up.rc == 0, up.output
    inventory = state_dir / "sandbox" / "inventory"
    yield inventory
    if os.environ.get("GPUCLUSTER_KEEP_SANDBOX") != "1":
        gpucluster("sandbox", "down")


def docker_exec(node: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "exec", f"gpucluster-{node}", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="session")
def prometheus(sandbox_inventory: Path) -> PrometheusApi:
    """The sandbox's Prometheus, asked from here as `gpucluster top` asks it: the address,
    the operators' login and the cluster CA from what install wrote beside the inventory."""
    return PrometheusApi.for_inventory(sandbox_inventory)
