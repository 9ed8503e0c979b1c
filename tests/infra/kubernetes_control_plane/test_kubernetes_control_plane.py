"""Role kubernetes_control_plane: the rendered kubeadm configuration and
manifests; on hosts with kubeadm, the running cluster: nodes Ready, the pod
network and device plugin running, GPUs allocatable."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.infra.kubernetes_settings import not_executed

testinfra_hosts = ["ansible://management"]
CONFIG_DIR = "/etc/kubernetes/gpucluster"
KUBECTL = "kubectl --kubeconfig /etc/kubernetes/admin.conf"


@pytest.fixture
def setting(inventory):
    """name -> the value the roles used on this host."""
    return inventory.setting


def _kubectl_json(host, args: str) -> dict:
    return json.loads(host.check_output(f"{KUBECTL} {args} -o json"))


def test_kubeadm_configuration_rendered(host, inventory, setting):
    text = host.file(f"{CONFIG_DIR}/kubeadm-config.yaml").content_string
    documents = {doc["kind"]: doc for doc in yaml.safe_load_all(text) if doc}
    init, cluster = documents["InitConfiguration"], documents["ClusterConfiguration"]
    assert init["apiVersion"] == cluster["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    address = inventory.management_address(inventory.name)
    assert init["localAPIEndpoint"]["advertiseAddress"] == address
    assert cluster["kubernetesVersion"] == "v" + setting("kubernetes_node_version")
    assert cluster["networking"]["podSubnet"] == setting("kubernetes_control_plane_pod_cidr")
    assert cluster["networking"]["serviceSubnet"] == setting(
        "kubernetes_control_plane_service_cidr"
    )
    assert cluster["imageRepository"] == setting("kubernetes_control_plane_image_repository")
    assert documents["KubeletConfiguration"]["cgroupDriver"] == "systemd"


def test_pinned_manifests_rendered(host, setting):
    flannel = f"{CONFIG_DIR}/kube-flannel-{setting('kubernetes_control_plane_flannel_version')}.yml"
    plugin = (
        f"{CONFIG_DIR}/nvidia-device-plugin-"
        f"{setting('kubernetes_control_plane_device_plugin_version')}.yml"
    )
    documents = list(yaml.safe_load_all(host.file(flannel).content_string))
    config = next(d for d in documents if d and d["kind"] == "ConfigMap")
    net_conf = json.loads(config["data"]["net-conf.json"])
    assert net_conf["Network"] == setting("kubernetes_control_plane_pod_cidr")
    daemonset = yaml.safe_load(host.file(plugin).content_string)
    image = daemonset["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == setting("kubernetes_control_plane_device_plugin_image")
    assert host.file(f"{CONFIG_DIR}/nvidia-smi-pod.yml").exists


def test_kubeadm_init_every_node_ready(host, inventory):
    not_executed(host, "kubeadm", "kubeadm init, kubectl get nodes Ready")
    nodes = _kubectl_json(host, "get nodes")["items"]
    ready = {
        n["metadata"]["name"]: any(
            c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"]
        )
        for n in nodes
    }
    expected = set(inventory.vars["groups"].get("management", [])) | set(
        inventory.vars["groups"].get("gpu", [])
    )
    assert expected <= set(ready), f"not registered: {sorted(expected - set(ready))}"
    assert all(ready[name] for name in expected), ready


def test_admin_kubeconfig_for_the_admins_group(host, setting):
    not_executed(host, "kubeadm", "admin kubeconfig for the admins group")
    kubeconfig = host.file(setting("kubernetes_control_plane_admin_kubeconfig"))
    assert kubeconfig.group == setting("kubernetes_control_plane_admin_group")
    assert kubeconfig.mode == 0o640
    assert host.file("/etc/profile.d/gpucluster-kubeconfig.sh").exists


def _daemonset_ready(host, namespace: str, name: str) -> tuple[int, int]:
    status = _kubectl_json(host, f"-n {namespace} get daemonset {name}")["status"]
    return status.get("numberReady", 0), status.get("desiredNumberScheduled", 0)


def test_pod_network_running(host):
    not_executed(host, "kubectl", "Flannel pods running")
    ready, desired = _daemonset_ready(host, "kube-flannel", "kube-flannel-ds")
    assert desired > 0 and ready == desired


def test_device_plugin_pods_running(host, inventory):
    not_executed(host, "kubectl", "NVIDIA device plugin pods running")
    ready, desired = _daemonset_ready(host, "kube-system", "nvidia-device-plugin-daemonset")
    assert desired == len(inventory.vars["groups"].get("gpu", [])) and ready == desired


def test_gpus_allocatable_on_gpu_nodes(host, inventory):
    not_executed(host, "kubectl", "nvidia.com/gpu allocatable on the GPU nodes")
    for name in inventory.vars["groups"].get("gpu", []):
        node = _kubectl_json(host, f"get node {name}")
        assert int(node["status"]["allocatable"].get("nvidia.com/gpu", "0")) >= 1, name
