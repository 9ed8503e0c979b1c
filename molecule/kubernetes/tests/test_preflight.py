"""Molecule-only: `gpucluster check`'s Kubernetes preflight, on the converged
nodes, passes as they are and names the host and the check for each problem."""

from __future__ import annotations

import subprocess

import pytest

from tests.playbook_helpers import run_role

testinfra_hosts = ["ansible://k8s-mgmt01"]


def _preflight(tmp_path, *extra, role="kubernetes_node"):
    # As playbooks/preflight.yml runs them: the networks on the management node only.
    hosts = "management" if role == "kubernetes_control_plane" else "all"
    return run_role(tmp_path, hosts, role, *extra, tasks_from="preflight")


def test_preflight_passes_on_the_converged_nodes(tmp_path):
    rc, out = _preflight(tmp_path)
    assert rc == 0, out
    rc, out = _preflight(tmp_path, role="kubernetes_control_plane")
    assert rc == 0, out


def test_versions_differing_between_nodes(tmp_path):
    extra = tmp_path / "gpu-pins.yml"
    extra.write_text("all:\n  hosts:\n    k8s-gpu01:\n      kubernetes_node_version: '1.31.4'\n")
    rc, out = _preflight(tmp_path, "-i", str(extra))
    assert rc != 0
    assert "k8s-gpu01: kubernetes preflight 'versions': pinned Kubernetes 1.31.4" in out
    assert "differs from k8s-mgmt01's 1.32.3" in out or "differs from k8s-mgmt01's" in out
    assert "k8s-mgmt01: kubernetes preflight" not in out


def test_installed_versions_differing_from_the_pins(tmp_path):
    rc, out = _preflight(
        tmp_path,
        "-e",
        '{"kubernetes_node_package_versions": {"kubeadm": "1.32.4-1.1", '
        '"kubelet": "1.32.4-1.1", "kubectl": "1.32.4-1.1", "cri-tools": "1.32.0-1.1", '
        '"kubernetes-cni": "1.6.0-1.1"}}',
    )
    assert rc != 0
    assert "k8s-gpu01: kubernetes preflight 'versions': installed kubelet 1.32.3-1.1" in out
    assert "(pinned 1.32.4-1.1)" in out


def test_pod_network_overlapping_the_management_network(tmp_path):
    rc, out = _preflight(
        tmp_path,
        "-e",
        "kubernetes_control_plane_pod_cidr=10.247.0.0/16",
        role="kubernetes_control_plane",
    )
    assert rc != 0
    assert (
        "k8s-mgmt01: kubernetes preflight 'networks': pod network "
        "(kubernetes_control_plane_pod_cidr) 10.247.0.0/16 overlaps management network "
        "(management_network.cidr) 10.247.0.0/24"
    ) in out


@pytest.fixture
def kubelet_port_taken():
    """Something else listening on kubelet's port on the GPU node."""
    start = (
        'python3 -c \'import socket,time; s=socket.socket(); s.bind(("0.0.0.0", 10250)); '
        "s.listen(); time.sleep(120)' >/dev/null 2>&1 & echo $!"
    )
    pid = subprocess.run(
        ["docker", "exec", "k8s-gpu01", "sh", "-c", start],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(
        [
            "docker",
            "exec",
            "k8s-gpu01",
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8 9 10; do "
            "ss -Hltn 'sport = :10250' | grep -q . && exit 0; sleep 0.5; done; exit 1",
        ],
        check=True,
    )
    yield
    subprocess.run(["docker", "exec", "k8s-gpu01", "kill", pid], check=False)


def test_port_in_use_before_kubernetes_runs(tmp_path, kubelet_port_taken):
    rc, out = _preflight(tmp_path)
    assert rc != 0
    assert "k8s-gpu01: kubernetes preflight 'ports': TCP 10250 is in use by python3" in out
    assert "k8s-mgmt01: kubernetes preflight" not in out


def test_clock_skew_beyond_the_threshold(tmp_path):
    # The containers share the host's clock (no CAP_SYS_TIME to skew one), so
    # the threshold is made impossible to meet: the check must fire on both.
    rc, out = _preflight(tmp_path, "-e", "kubernetes_node_max_clock_skew_s=-1")
    assert rc != 0
    for name in ("k8s-mgmt01", "k8s-gpu01"):
        assert f"{name}: kubernetes preflight 'clock skew': the node's clock is 0.0 s off" in out
