"""Role nvidia_container_toolkit: on every GPU node the pinned toolkit is
installed and held, its runtime is where Docker and containerd expect it,
and nvidia-container-cli reaches every GPU; a node without a GPU carries no
toolkit (the role skips it there with a message)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://gpu"]

ROOT = Path(__file__).resolve().parents[3]
DETECT = ROOT / "roles" / "nvidia_driver" / "files" / "nvidia_gpus.py"
PACKAGES = [
    "libnvidia-container1",
    "libnvidia-container-tools",
    "nvidia-container-toolkit-base",
    "nvidia-container-toolkit",
]


def _gpu_count(host) -> int:
    return json.loads(host.check_output("python3 -c %s", DETECT.read_text()))["count"]


def _require_gpu(host):
    if _gpu_count(host) == 0:
        pytest.skip(
            "not executed here: no NVIDIA GPU on this host, so the role did not "
            "install the toolkit (NVIDIA's repository is unreachable here as well)"
        )


def test_toolkit_is_installed_at_the_pinned_version_and_held(host, inventory):
    _require_gpu(host)
    pinned = inventory.setting("nvidia_container_toolkit_version")
    for name in PACKAGES:
        assert host.package(name).version == pinned, name
    held = host.check_output("apt-mark showhold").split()
    assert sorted(set(PACKAGES) & set(held)) == sorted(PACKAGES)
    assert f"version {pinned.split('-')[0]}" in host.check_output("nvidia-ctk --version")


def test_runtime_is_where_docker_and_containerd_expect_it(host):
    _require_gpu(host)
    assert host.file("/usr/bin/nvidia-container-runtime").mode & 0o111
    assert host.run("nvidia-container-runtime --version").rc == 0


def test_nvidia_container_cli_sees_every_gpu(host):
    _require_gpu(host)
    info = host.check_output("nvidia-container-cli info")
    devices = [line for line in info.splitlines() if line.startswith("Device Index:")]
    assert len(devices) == _gpu_count(host), info


def test_no_toolkit_on_a_node_without_a_gpu(host):
    if _gpu_count(host) > 0:
        pytest.skip("not applicable: this host has a GPU")
    for name in PACKAGES:
        assert not host.package(name).is_installed, name
    assert not host.file("/etc/apt/sources.list.d/nvidia-container-toolkit.sources").exists
