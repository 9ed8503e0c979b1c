"""The kubeadm configuration the roles render, checked against the kubeadm v1beta4 API.

The role's real templates are rendered with the roles' real defaults through
Ansible's own templating, for the management node and a GPU node of the
example inventory. kubeadm decodes its configuration strictly (unknown fields
are errors), so every document is checked field by field against the
v1beta4 types (cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go), plus the
values the cluster depends on: cgroupDriver systemd, CIDRs that are networks
and overlap neither each other nor the cluster's networks.
"""

from __future__ import annotations

import importlib.util
import json
import re
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpucluster import role_settings
from gpucluster.role_settings import HostContext, HostSettings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inventory" / "example"
CONTROL_PLANE = ROOT / "roles" / "kubernetes_control_plane"
WORKER = ROOT / "roles" / "kubernetes_worker"
SANDBOX_NETWORKS = ("10.221.0.0/24", "10.222.0.0/24")

spec = importlib.util.spec_from_file_location(
    "kubernetes_networks", CONTROL_PLANE / "filter_plugins" / "kubernetes_networks.py"
)
assert spec and spec.loader
kubernetes_networks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kubernetes_networks)

KUBEADM = "kubeadm.k8s.io/v1beta4"
# Fields of the v1beta4 types (and the kubelet/kube-proxy ones used here).
FIELDS: dict[str, set[str]] = {
    "InitConfiguration": {
        "apiVersion", "kind", "bootstrapTokens", "dryRun", "nodeRegistration",
        "localAPIEndpoint", "certificateKey", "skipPhases", "patches", "timeouts",
    },
    "ClusterConfiguration": {
        "apiVersion", "kind", "etcd", "networking", "kubernetesVersion",
        "controlPlaneEndpoint", "apiServer", "controllerManager", "scheduler", "dns",
        "proxy", "certificatesDir", "imageRepository", "featureGates", "clusterName",
        "encryptionAlgorithm", "certificateValidityPeriod", "caCertificateValidityPeriod",
    },
    "JoinConfiguration": {
        "apiVersion", "kind", "dryRun", "nodeRegistration", "caCertPath", "discovery",
        "controlPlane", "skipPhases", "patches", "timeouts",
    },
    "NodeRegistrationOptions": {
        "name", "criSocket", "taints", "kubeletExtraArgs", "ignorePreflightErrors",
        "imagePullPolicy", "imagePullSerial",
    },
    "BootstrapToken": {"token", "description", "ttl", "expires", "usages", "groups"},
    "APIEndpoint": {"advertiseAddress", "bindPort"},
    "Networking": {"serviceSubnet", "podSubnet", "dnsDomain"},
    "APIServer": {"extraArgs", "extraVolumes", "extraEnvs", "certSANs"},
    "LocalEtcd": {
        "imageRepository", "imageTag", "dataDir", "extraArgs", "extraEnvs",
        "serverCertSANs", "peerCertSANs",
    },
    "DNS": {"imageRepository", "imageTag", "disabled"},
    "Discovery": {"bootstrapToken", "file", "tlsBootstrapToken"},
    "BootstrapTokenDiscovery": {
        "token", "apiServerEndpoint", "caCertHashes", "unsafeSkipCAVerification",
    },
}  # fmt: skip
GO_DURATION = re.compile(r"(\d+(\.\d+)?(ns|us|ms|s|m|h))+")
TOKEN = re.compile(r"[a-z0-9]{6}\.[a-z0-9]{16}")
CA_HASH = re.compile(r"sha256:[0-9a-f]{64}")


def _fields(kind: str, value: dict[str, Any]) -> None:
    unknown = set(value) - FIELDS[kind]
    assert not unknown, f"{kind}: fields kubeadm v1beta4 does not know: {sorted(unknown)}"


def _group_vars() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLE / "group_vars" / "all.yml").read_text())


def _settings(host: str, extra: dict[str, Any] | None = None) -> HostSettings:
    """Every role's settings for a host of the example inventory, as a play there sees them."""
    group_vars = _group_vars()
    groups = yaml.safe_load((EXAMPLE / "hosts.yml").read_text())["all"]["children"]
    hostvars = {
        name: {**group_vars, **values}
        for body in groups.values()
        for name, values in body["hosts"].items()
    }
    context = HostContext(
        name=host,
        inventory_vars=hostvars[host],
        groups={"all": list(hostvars)} | {g: list(body["hosts"]) for g, body in groups.items()},
        hostvars=hostvars,
        inventory_dir=str(EXAMPLE),
    )
    return role_settings.for_host(
        context,
        roles_dir=ROOT / "roles",
        extra_vars={"ansible_managed": "Ansible managed"} | (extra or {}),
    )


def _render(template: Path, host: str, extra: dict[str, Any] | None = None) -> str:
    return str(_settings(host, extra).template(template.read_text()))


@pytest.fixture(scope="module")
def init_documents() -> dict[str, dict[str, Any]]:
    text = _render(CONTROL_PLANE / "templates" / "kubeadm-config.yaml.j2", "mgmt01")
    documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    kinds = [doc["kind"] for doc in documents]
    assert len(kinds) == len(set(kinds)), kinds
    return {doc["kind"]: doc for doc in documents}


@pytest.fixture(scope="module")
def defaults() -> dict[str, Any]:
    settings = _settings("mgmt01")
    return {
        name: settings[name]
        for name in (
            "kubernetes_node_version",
            "kubernetes_control_plane_pod_cidr",
            "kubernetes_control_plane_service_cidr",
            "kubernetes_control_plane_images",
            "kubernetes_control_plane_flannel_version",
            "kubernetes_control_plane_flannel_images",
            "kubernetes_control_plane_device_plugin_version",
            "kubernetes_control_plane_device_plugin_image",
            "kubernetes_control_plane_gpu_node_label",
            "containerd_cni_bin_dir",
        )
    }


def test_documents_and_their_api_versions(init_documents):
    assert {kind: doc["apiVersion"] for kind, doc in init_documents.items()} == {
        "InitConfiguration": KUBEADM,
        "ClusterConfiguration": KUBEADM,
        "KubeletConfiguration": "kubelet.config.k8s.io/v1beta1",
        "KubeProxyConfiguration": "kubeproxy.config.k8s.io/v1alpha1",
    }


def test_init_configuration(init_documents):
    init = init_documents["InitConfiguration"]
    _fields("InitConfiguration", init)
    _fields("APIEndpoint", init["localAPIEndpoint"])
    assert str(IPv4Address(init["localAPIEndpoint"]["advertiseAddress"])) == "10.10.0.12"
    assert init["localAPIEndpoint"]["bindPort"] == 6443
    registration = init["nodeRegistration"]
    _fields("NodeRegistrationOptions", registration)
    assert registration["name"] == "mgmt01"
    assert registration["criSocket"] == "unix:///run/containerd/containerd.sock"
    # v1beta4 made extra args a list of name/value pairs (a map was v1beta3).
    assert registration["kubeletExtraArgs"] == [{"name": "node-ip", "value": "10.10.0.12"}]
    for token in init["bootstrapTokens"]:
        _fields("BootstrapToken", token)
        assert "token" not in token  # kubeadm generates it; nothing secret in the file
        assert GO_DURATION.fullmatch(token["ttl"])
        assert set(token["usages"]) <= {"signing", "authentication"}


def test_cluster_configuration(init_documents, defaults):
    cluster = init_documents["ClusterConfiguration"]
    _fields("ClusterConfiguration", cluster)
    _fields("Networking", cluster["networking"])
    _fields("APIServer", cluster["apiServer"])
    _fields("LocalEtcd", cluster["etcd"]["local"])
    _fields("DNS", cluster["dns"])
    assert cluster["clusterName"] == "ml"
    assert cluster["kubernetesVersion"] == f"v{defaults['kubernetes_node_version']}"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", cluster["kubernetesVersion"])
    host, _, port = cluster["controlPlaneEndpoint"].rpartition(":")
    assert (host, port) == ("mgmt01.ml.internal", "6443")
    assert {"mgmt01.ml.internal", "10.10.0.12"} <= set(cluster["apiServer"]["certSANs"])
    assert cluster["imageRepository"] == "registry.k8s.io"
    # The image table is what kubeadm pulls: etcd and coredns tags are pinned in the file.
    assert (
        cluster["etcd"]["local"]["imageTag"] == defaults["kubernetes_control_plane_images"]["etcd"]
    )
    assert cluster["dns"]["imageTag"] == defaults["kubernetes_control_plane_images"]["coredns"]


def test_kubelet_uses_the_systemd_cgroup_driver(init_documents):
    kubelet = init_documents["KubeletConfiguration"]
    assert kubelet["cgroupDriver"] == "systemd"
    assert kubelet["containerRuntimeEndpoint"] == "unix:///run/containerd/containerd.sock"
    assert kubelet["failSwapOn"] is True


def test_cidrs_are_networks_that_overlap_nothing(init_documents):
    networking = init_documents["ClusterConfiguration"]["networking"]
    pods = IPv4Network(networking["podSubnet"], strict=True)
    services = IPv4Network(networking["serviceSubnet"], strict=True)
    assert init_documents["KubeProxyConfiguration"]["clusterCIDR"] == str(pods)
    group_vars = _group_vars()
    others = {
        "management": group_vars["management_network"]["cidr"],
        "storage": group_vars["storage_network"]["cidr"],
        **{f"sandbox {i}": cidr for i, cidr in enumerate(SANDBOX_NETWORKS)},
    }
    assert (
        kubernetes_networks.kubernetes_cidr_problems(
            {"pods": str(pods), "services": str(services)}, others
        )
        == []
    )
    assert not pods.overlaps(services)
    for cidr in others.values():
        assert not pods.overlaps(IPv4Network(cidr)) and not services.overlaps(IPv4Network(cidr))


def test_the_network_check_names_what_overlaps():
    problems = kubernetes_networks.kubernetes_cidr_problems(
        {"pod network": "10.10.0.0/16", "service network": "172.30.0.1/16"},
        {"management network": "10.10.0.0/24", "storage network": None},
    )
    assert problems == [
        "service network 172.30.0.1/16 is not an IPv4 network (address/prefix, no host bits)",
        "pod network 10.10.0.0/16 overlaps management network 10.10.0.0/24",
    ]


def test_join_configuration():
    token, ca_hash = "abcdef.0123456789abcdef", "sha256:" + "0f" * 32
    text = _render(
        WORKER / "templates" / "kubeadm-join.yaml.j2",
        "gpu01",
        {"kubernetes_worker_token": token, "kubernetes_worker_ca_cert_hash": ca_hash},
    )
    join = yaml.safe_load(text)
    assert (join["apiVersion"], join["kind"]) == (KUBEADM, "JoinConfiguration")
    _fields("JoinConfiguration", join)
    _fields("Discovery", join["discovery"])
    discovery = join["discovery"]["bootstrapToken"]
    _fields("BootstrapTokenDiscovery", discovery)
    assert TOKEN.fullmatch(discovery["token"])
    assert all(CA_HASH.fullmatch(h) for h in discovery["caCertHashes"])
    assert discovery["apiServerEndpoint"] == "mgmt01.ml.internal:6443"
    _fields("NodeRegistrationOptions", join["nodeRegistration"])
    assert join["nodeRegistration"]["name"] == "gpu01"
    assert join["nodeRegistration"]["kubeletExtraArgs"] == [
        {"name": "node-ip", "value": "10.10.0.101"}
    ]


def test_flannel_manifest_matches_the_cluster(defaults):
    version = defaults["kubernetes_control_plane_flannel_version"]
    template = CONTROL_PLANE / "templates" / f"kube-flannel-{version}.yml.j2"
    documents = [d for d in yaml.safe_load_all(_render(template, "mgmt01")) if d]
    config = next(d for d in documents if d["kind"] == "ConfigMap")
    network = json.loads(config["data"]["net-conf.json"])
    assert network["Network"] == defaults["kubernetes_control_plane_pod_cidr"]
    daemonset = next(d for d in documents if d["kind"] == "DaemonSet")
    pod = daemonset["spec"]["template"]["spec"]
    images = {c["image"] for c in pod["containers"] + pod["initContainers"]}
    assert images == set(defaults["kubernetes_control_plane_flannel_images"].values())
    assert all(version in image for image in images if "/flannel:" in image)
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["cni-plugin"]["hostPath"]["path"] == defaults["containerd_cni_bin_dir"]


def test_device_plugin_runs_on_the_nodes_the_worker_labels(defaults):
    version = defaults["kubernetes_control_plane_device_plugin_version"]
    template = CONTROL_PLANE / "templates" / f"nvidia-device-plugin-{version}.yml.j2"
    daemonset = yaml.safe_load(_render(template, "mgmt01"))
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == defaults["kubernetes_control_plane_device_plugin_image"]
    assert version in defaults["kubernetes_control_plane_device_plugin_image"]
    worker_defaults = yaml.safe_load((WORKER / "defaults" / "main.yml").read_text())
    assert pod["nodeSelector"] == worker_defaults["kubernetes_worker_gpu_node_label"]
    assert pod["nodeSelector"] == defaults["kubernetes_control_plane_gpu_node_label"]


def test_smoke_test_pod_requests_one_gpu():
    pod = yaml.safe_load((CONTROL_PLANE / "files" / "nvidia-smi-pod.yml").read_text())
    container = pod["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert container["command"] == ["nvidia-smi"]
