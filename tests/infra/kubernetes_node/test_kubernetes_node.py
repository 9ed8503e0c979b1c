"""Role kubernetes_node: swap off and kept off, modules and sysctls persisted,
packages at their pins and held, from the configured source."""

from __future__ import annotations

import pytest

from tests.infra.kubernetes_settings import not_executed

testinfra_hosts = ["ansible://management", "ansible://gpu"]


@pytest.fixture
def setting(inventory):
    """name -> the value the roles used on this host."""
    return inventory.setting


def test_swap_is_off_and_kept_off(host):
    assert host.file("/proc/swaps").content_string.strip().splitlines()[1:] == []
    for line in host.file("/etc/fstab").content_string.splitlines():
        fields = line.split()
        assert line.lstrip().startswith("#") or len(fields) < 3 or fields[2] != "swap", line
    assert host.run("systemctl is-enabled swap.target").stdout.strip() == "masked"


def test_kernel_modules_persisted_and_active(host, setting):
    persisted = host.file("/etc/modules-load.d/gpucluster-kubernetes.conf").content_string.split()
    assert persisted == setting("kubernetes_node_kernel_modules")
    # The functions they provide, whether loaded or built in.
    assert "overlay" in host.file("/proc/filesystems").content_string
    assert host.file("/proc/sys/net/bridge/bridge-nf-call-iptables").exists


def _persisted_sysctls(host) -> dict[str, str]:
    text = host.file("/etc/sysctl.d/90-gpucluster-kubernetes.conf").content_string
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def test_sysctls_persisted(host, setting):
    wanted = {key: str(value) for key, value in setting("kubernetes_node_sysctls").items()}
    assert _persisted_sysctls(host) == wanted


def test_sysctls_applied_live(host):
    if host.run("test -w /proc/sys/net/ipv4/ip_forward").rc != 0:
        pytest.skip(
            f"not executed here: live sysctl apply (/proc/sys read-only on {host.backend.host})"
        )
    for key, value in _persisted_sysctls(host).items():
        assert host.sysctl(key) == int(value), key


def _skip_without_a_package_source(setting) -> None:
    if setting("kubernetes_node_package_source") == "none":
        pytest.skip("not executed here: kubernetes_node_package_source is none (no source)")


def test_packages_at_their_pins_and_held(host, setting):
    _skip_without_a_package_source(setting)
    pins = setting("kubernetes_node_package_versions")
    held = set(host.check_output("apt-mark showhold").split())
    for name in setting("kubernetes_node_packages"):
        assert host.package(name).is_installed, name
        assert host.package(name).version == pins[name], name
        assert name in held, name


def test_packages_come_from_the_configured_source(host, setting):
    _skip_without_a_package_source(setting)
    upstream = host.file("/etc/apt/sources.list.d/gpucluster-kubernetes.sources")
    offline = host.file("/etc/apt/sources.list.d/gpucluster-kubernetes-offline.sources")
    if setting("kubernetes_node_package_source") == "offline":
        assert offline.exists and not upstream.exists
        assert "Trusted: yes" in offline.content_string
        index = host.file(setting("kubernetes_node_offline_cache") + "/Packages").content_string
        for name, version in setting("kubernetes_node_package_versions").items():
            assert f"Package: {name}\nVersion: {version}\n" in index, name
    else:
        assert upstream.exists and not offline.exists
        text = upstream.content_string
        assert f"URIs: {setting('kubernetes_node_apt_repo_url')}" in text
        key = setting("kubernetes_node_apt_key_path")
        assert f"Signed-By: {key}" in text
        assert "BEGIN PGP PUBLIC KEY BLOCK" in host.file(key).content_string
        # apt's own view: the pinned version is offered by that repository.
        policy = host.check_output("apt-cache policy kubeadm")
        origin = setting("kubernetes_node_apt_repo_url").replace("file://", "file:").rstrip("/")
        assert origin in policy


def test_crictl_talks_to_containerd(host):
    config = host.file("/etc/crictl.yaml").content_string
    assert "runtime-endpoint: unix:///run/containerd/containerd.sock" in config
    assert host.socket("unix:///run/containerd/containerd.sock").is_listening


def test_kubelet_enabled(host):
    not_executed(host, "kubelet", "enabling the kubelet service")
    assert host.service("kubelet").is_enabled
