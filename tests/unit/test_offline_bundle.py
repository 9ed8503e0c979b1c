"""The offline bundle comes from the roles' defaults: change a default, the bundle follows."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import yaml

from gpucluster import offline_bundle
from gpucluster.cli import main

ROOT = Path(__file__).resolve().parents[2]

spec = importlib.util.spec_from_file_location(
    "kubernetes_packages",
    ROOT / "roles" / "kubernetes_node" / "filter_plugins" / "kubernetes_packages.py",
)
assert spec and spec.loader
kubernetes_packages = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kubernetes_packages)


def _defaults(role: str) -> dict:
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())


def _copy_roles(tmp_path: Path) -> Path:
    for role in (
        "containerd",
        "kubernetes_node",
        "kubernetes_control_plane",
        "dcgm_exporter",
        "mlflow",
    ):
        shutil.copytree(ROOT / "roles" / role, tmp_path / "roles" / role)
    return tmp_path


def _edit_defaults(root: Path, role: str, old: str, new: str) -> None:
    path = root / "roles" / role / "defaults" / "main.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_bundle_lists_the_pinned_packages_and_images():
    bundle = offline_bundle.build()
    version = _defaults("kubernetes_node")["kubernetes_node_version"]
    assert bundle.kubernetes_version == version
    packages = {p.name: p.version for p in bundle.packages}
    assert set(packages) == {"kubeadm", "kubelet", "kubectl", "cri-tools", "kubernetes-cni"}
    assert {packages[n] for n in ("kubeadm", "kubelet", "kubectl")} == {f"{version}-1.1"}
    images = {i.component: i.image for i in bundle.images}
    assert images["kube-apiserver"] == f"registry.k8s.io/kube-apiserver:v{version}"
    assert images["coredns"].startswith("registry.k8s.io/coredns/coredns:")
    assert {"flannel", "flannel-cni-plugin", "nvidia-device-plugin", "gpu-smoke-test"} <= set(
        images
    )
    tag = _defaults("dcgm_exporter")["dcgm_exporter_image_tag"]
    assert images["dcgm-exporter"] == f"nvcr.io/nvidia/k8s/dcgm-exporter:{tag}"
    paths = {i.component: i.registry_path for i in bundle.images}
    assert paths["dcgm-exporter"] == f"nvidia/k8s/dcgm-exporter:{tag}"
    mlflow = _defaults("mlflow")["mlflow_version"]
    assert f"mlflow[auth]=={mlflow}" in bundle.python_requirements
    assert all("==" in line for line in bundle.python_requirements)


def test_bundle_pause_image_is_the_one_containerd_runs():
    bundle = offline_bundle.build()
    pause = next(i.image for i in bundle.images if i.component == "pause")
    assert pause == offline_bundle.render(offline_bundle.role_settings()).template(
        "{{ containerd_pause_image }}"
    )


def test_changing_a_default_changes_the_bundle(tmp_path):
    root = _copy_roles(tmp_path)
    before = offline_bundle.build(root=root)
    _edit_defaults(
        root,
        "kubernetes_node",
        'kubernetes_node_version: "1.32.3"',
        'kubernetes_node_version: "1.32.9"',
    )
    _edit_defaults(root, "kubernetes_control_plane", 'etcd: "3.5.16-0"', 'etcd: "3.5.99-0"')
    after = offline_bundle.build(root=root)
    assert before != after
    assert after.kubernetes_version == "1.32.9"
    assert {p.name: p.version for p in after.packages}["kubelet"] == "1.32.9-1.1"
    images = {i.component: i.image for i in after.images}
    assert images["kube-scheduler"] == "registry.k8s.io/kube-scheduler:v1.32.9"
    assert images["etcd"] == "registry.k8s.io/etcd:3.5.99-0"
    assert "v1.32/deb/" in after.apt_repository


def test_a_site_registry_gets_kubeadm_names():
    bundle = offline_bundle.build(
        overrides={"kubernetes_control_plane_image_repository": "registry.ml.internal:5000"}
    )
    images = {i.component: i for i in bundle.images}
    # kubeadm drops the coredns/ prefix outside registry.k8s.io.
    assert images["coredns"].image.startswith("registry.ml.internal:5000/coredns:")
    assert images["coredns"].registry_path == images["coredns"].image.split("/", 1)[1]
    assert images["flannel"].registry_path.startswith("flannel-io/flannel:")


def test_cli_prints_text_and_json(capsys):
    assert main(["offline-bundle"]) == 0
    text = capsys.readouterr().out
    bundle = offline_bundle.build()
    for package in bundle.packages:
        assert package.file in text
    assert main(["offline-bundle", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(bundle.as_dict()))


def test_pin_comparison_separates_installs_from_version_changes():
    pins = {"kubeadm": "1.32.3-1.1", "kubelet": "1.32.3-1.1", "kubectl": "1.32.3-1.1"}
    installed = {"kubelet": "1.31.0-1.1", "kubectl": "1.32.3-1.1"}
    names = ["kubelet", "kubectl", "kubeadm"]
    assert kubernetes_packages.kubernetes_pin_mismatches(names, pins, installed) == [
        "kubelet",
        "kubeadm",
    ]
    assert kubernetes_packages.kubernetes_pin_mismatches(
        names, pins, installed, installed_only=True
    ) == ["kubelet"]
    assert kubernetes_packages.kubernetes_apt_pins(["kubeadm"], pins) == ["kubeadm=1.32.3-1.1"]
