"""Role containerd: the effective configuration containerd itself reports
(`containerd config dump`, drop-ins merged) is what kubelet needs."""

from __future__ import annotations

import tomllib

testinfra_hosts = ["ansible://management", "ansible://gpu", "ansible://login"]

CRI = "io.containerd.grpc.v1.cri"


def _cri(host) -> dict:
    return tomllib.loads(host.check_output("containerd config dump"))["plugins"][CRI]


def test_containerd_runs(host):
    assert host.service("containerd").is_enabled
    assert host.service("containerd").is_running
    assert host.socket("unix:///run/containerd/containerd.sock").is_listening


def test_runc_uses_systemd_cgroups(host):
    runc = _cri(host)["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is True


def test_gpu_nodes_default_to_the_nvidia_runtime(host, inventory):
    containerd = _cri(host)["containerd"]
    if "gpu" in inventory.vars.get("group_names", []):
        assert containerd["default_runtime_name"] == "nvidia"
        nvidia = containerd["runtimes"]["nvidia"]
        assert nvidia["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"
        assert nvidia["options"]["SystemdCgroup"] is True
    else:
        assert containerd["default_runtime_name"] == "runc"
        assert "nvidia" not in containerd["runtimes"]


def test_registry_hosts_and_cni_paths(host):
    cri = _cri(host)
    assert cri["registry"]["config_path"] == "/etc/containerd/certs.d"
    assert host.file(cri["cni"]["bin_dir"] + "/bridge").exists
