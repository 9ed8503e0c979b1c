"""Role containerd: the effective configuration containerd itself reports
(`containerd config dump`, drop-ins merged) is what kubelet needs."""

from __future__ import annotations

import tomllib

import pytest

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


def test_registry_hosts_and_cni_paths(host, inventory):
    cri = _cri(host)
    config_path = inventory.setting("containerd_registry_config_path")
    assert cri["registry"]["config_path"] == config_path
    assert host.file(cri["cni"]["bin_dir"] + "/bridge").exists


def test_cluster_registry_is_https_verified_by_the_cluster_ca(host, inventory):
    cri = _cri(host)
    trusted = inventory.setting("containerd_trusted_registries")
    if not trusted:
        pytest.skip("not executed: containerd_trusted_registries is empty in the inventory")
    ca_file = inventory.setting("containerd_registry_ca_file")
    cluster_ca = host.file(ca_file).content_string
    assert "BEGIN CERTIFICATE" in cluster_ca
    for registry in trusted:
        hosts_toml = tomllib.loads(
            host.file(f"{cri['registry']['config_path']}/{registry}/hosts.toml").content_string
        )
        assert hosts_toml["server"] == f"https://{registry}"
        entry = hosts_toml["host"][f"https://{registry}"]
        assert host.file(entry["ca"]).content_string == cluster_ca
        assert "skip_verify" not in entry


def test_pause_image_follows_the_offline_setting(host, inventory):
    sandbox_image = _cri(host)["sandbox_image"]
    assert sandbox_image == inventory.setting("containerd_pause_image")
