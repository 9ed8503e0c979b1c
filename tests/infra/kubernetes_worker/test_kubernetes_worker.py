"""Role kubernetes_worker: the node joined once and its join token did not
stay behind; GPU nodes carry the label the device plugin selects."""

from __future__ import annotations

import json

import pytest

from tests.infra.kubernetes_settings import not_executed

testinfra_hosts = ["ansible://gpu"]


@pytest.fixture
def setting(inventory):
    """name -> the value the roles used on this host."""
    return inventory.setting


def test_kubeadm_join(host):
    not_executed(host, "kubeadm", "kubeadm join with a short-lived token")
    assert host.file("/etc/kubernetes/kubelet.conf").exists
    assert host.service("kubelet").is_running
    assert not host.file("/etc/kubernetes/gpucluster/kubeadm-join.yaml").exists


def test_gpu_node_labelled(host, inventory, setting):
    not_executed(host, "kubectl", "GPU node label")
    node = json.loads(
        host.check_output(
            f"kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node {inventory.name} -o json"
        )
    )
    labels = node["metadata"]["labels"]
    for key, value in setting("kubernetes_worker_gpu_node_label").items():
        assert labels.get(key) == value, key
