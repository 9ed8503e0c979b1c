"""Molecule-only: on a node without a GPU the role skips with its message, and
with nvidia_driver_require_gpu it stops the host with that message."""

from __future__ import annotations

from tests.playbook_helpers import run_role

testinfra_hosts = ["ansible://rt-gpu01"]


def test_skips_with_a_message_when_no_gpu(tmp_path):
    rc, output = run_role(tmp_path, "rt-gpu01", "nvidia_driver")
    assert rc == 0, output
    assert "rt-gpu01: no NVIDIA GPU on the PCI bus; NVIDIA driver not installed" in output


def test_fails_with_the_message_when_a_gpu_is_required(tmp_path):
    rc, output = run_role(
        tmp_path, "rt-gpu01", "nvidia_driver", "-e", "nvidia_driver_require_gpu=true"
    )
    assert rc != 0
    assert "rt-gpu01: no NVIDIA GPU on the PCI bus, and nvidia_driver_require_gpu is true" in output
