"""Role docker: the engine runs with the settings the cluster depends on, as
Docker itself reports them (`docker info`), not just as written to a file."""

from __future__ import annotations

import json

import pytest

testinfra_hosts = ["ansible://gpu", "ansible://login"]


def _info(host) -> dict:
    return json.loads(host.check_output("docker info --format '{{json .}}'"))


def test_engine_runs_with_systemd_cgroups_and_json_logs(host):
    assert host.service("docker").is_running
    assert host.service("docker").is_enabled
    info = _info(host)
    assert info["CgroupDriver"] == "systemd"
    assert info["LoggingDriver"] == "json-file"
    settings = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert settings["log-opts"]["max-size"] == "100m"


def test_gpu_nodes_default_to_the_nvidia_runtime(host, inventory):
    info = _info(host)
    if "gpu" in inventory.vars.get("group_names", []):
        assert info["DefaultRuntime"] == "nvidia"
        assert info["Runtimes"]["nvidia"]["path"] == "/usr/bin/nvidia-container-runtime"
    else:
        assert info["DefaultRuntime"] == "runc"
        assert "nvidia" not in info["Runtimes"]


def test_no_registry_is_insecure_unless_asked(host, inventory):
    asked = inventory.setting("docker_insecure_registries")
    insecure = _info(host)["RegistryConfig"]["IndexConfigs"]
    listed = sorted(name for name, cfg in insecure.items() if not cfg.get("Secure", True))
    assert listed == sorted(asked)


def test_cluster_registries_trust_the_cluster_ca(host, inventory):
    trusted = inventory.setting("docker_trusted_registries")
    ca_file = inventory.setting("docker_registry_ca_file")
    if not trusted:
        pytest.skip("not executed: docker_trusted_registries is empty in the inventory")
    cluster_ca = host.file(ca_file).content_string
    assert "BEGIN CERTIFICATE" in cluster_ca
    insecure = _info(host)["RegistryConfig"]["IndexConfigs"]
    for registry in trusted:
        installed = host.file(f"/etc/docker/certs.d/{registry}/ca.crt")
        assert installed.mode == 0o644
        assert installed.content_string == cluster_ca
        assert insecure.get(registry, {}).get("Secure", True), f"{registry} is insecure"
