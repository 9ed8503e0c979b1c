"""Molecule-only: the toolkit role on a GPU-group node without a GPU skips
with its message (fails with it when a GPU is required); NVIDIA's repository
source renders as apt reads it; the install from that repository cannot run
here and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.playbook_helpers import run_role

testinfra_hosts = ["ansible://gpu"]

ROOT = Path(__file__).resolve().parents[3]
DETECT = ROOT / "roles" / "nvidia_driver" / "files" / "nvidia_gpus.py"
SOURCES = "/etc/apt/sources.list.d/nvidia-container-toolkit.sources"
KEYRING = "/etc/apt/keyrings/nvidia-container-toolkit.asc"


def test_skips_with_a_message_when_no_gpu(host, tmp_path):
    name = host.backend.host
    rc, output = run_role(tmp_path, name, "nvidia_container_toolkit")
    assert rc == 0, output
    assert f"{name}: no NVIDIA GPU on the PCI bus; NVIDIA Container Toolkit not installed" in output


def test_fails_with_the_message_when_a_gpu_is_required(host, tmp_path):
    name = host.backend.host
    rc, output = run_role(
        tmp_path,
        name,
        "nvidia_container_toolkit",
        "-e",
        "nvidia_container_toolkit_require_gpu=true",
    )
    assert rc != 0
    assert (
        f"{name}: no NVIDIA GPU on the PCI bus, and nvidia_container_toolkit_require_gpu" in output
    )


def test_repository_source_renders_as_apt_reads_it(host, tmp_path):
    # NVIDIA's key server is unreachable here: a local file stands in for the
    # key's content; its path, the source's fields and apt's reading are real.
    name = host.backend.host
    try:
        rc, output = run_role(
            tmp_path,
            name,
            "nvidia_container_toolkit",
            "-e",
            "nvidia_container_toolkit_key_url=file:///usr/share/keyrings/debian-archive-keyring.gpg",
            tasks_from="repository",
        )
        assert rc == 0, output
        fields = dict(
            line.split(": ", 1)
            for line in host.file(SOURCES).content_string.splitlines()
            if line and not line.startswith("#")
        )
        assert fields == {
            "Types": "deb",
            "URIs": "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH)",
            "Suites": "/",
            "Signed-By": KEYRING,
        }
        assert host.file(KEYRING).mode == 0o644
        arch = host.check_output("dpkg --print-architecture")
        targets = host.check_output("apt-get indextargets --no-release-info --format '$(URI)'")
        expected = f"https://nvidia.github.io/libnvidia-container/stable/deb/{arch}/Packages"
        assert expected in targets.splitlines()
    finally:
        host.run("rm -f %s %s", SOURCES, KEYRING)


def test_toolkit_install_from_nvidia_repository(host):
    gpus = json.loads(host.check_output("python3 -c %s", DETECT.read_text()))["count"]
    if gpus == 0:
        pytest.skip(
            "not executed here: no GPU and NVIDIA's apt repository is unreachable; "
            "install of the pinned packages, hold, nvidia-ctk --version and "
            "nvidia-container-cli info run only on a real GPU node"
        )
    assert host.package("nvidia-container-toolkit").is_installed
