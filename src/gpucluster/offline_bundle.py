"""What an air-gapped site must provide to run Kubernetes, the GPU metrics and MLflow:
packages, images and Python wheels, with versions.

Generated from the roles' own defaults (rendered with Ansible's templating, as
Ansible itself would render them), so the list cannot drift from what the
roles install and what kubeadm pulls. `gpucluster offline-bundle` prints it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from gpucluster import paths
from gpucluster.role_settings import read_files, render, roles_root

# Roles whose defaults (then role vars) make up the settings, later ones winning.
ROLES: tuple[tuple[str, str], ...] = (
    ("containerd", "defaults"),
    ("kubernetes_node", "defaults"),
    ("kubernetes_node", "vars"),
    ("kubernetes_control_plane", "defaults"),
    ("kubernetes_control_plane", "vars"),
    ("dcgm_exporter", "defaults"),
)
# kubeadm's control-plane images, in `kubeadm config images list` order.
KUBEADM_IMAGES: tuple[str, ...] = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
    "coredns",
    "pause",
    "etcd",
)
UPSTREAM_REGISTRY = "registry.k8s.io"
SMOKE_TEST_POD = Path("roles/kubernetes_control_plane/files/nvidia-smi-pod.yml")
MLFLOW_REQUIREMENTS = Path("roles/mlflow/files/requirements.txt")


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    file: str  # the .deb file name pkgs.k8s.io publishes (amd64)


@dataclass(frozen=True)
class Image:
    component: str
    image: str  # where it is pulled from with the given settings
    registry_path: str  # name:tag to push it under in a site registry


@dataclass(frozen=True)
class Bundle:
    kubernetes_version: str
    apt_repository: str
    packages: tuple[Package, ...]
    images: tuple[Image, ...]
    python_requirements: tuple[str, ...]  # name==version, for mlflow_wheelhouse_dir

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def role_settings(root: Path | None = None) -> dict[str, Any]:
    """The raw (unrendered) defaults and role vars of the roles the bundle reads."""
    return read_files(ROLES, roles_root(root))


def _kubeadm_image(repository: str, component: str, tag: str) -> tuple[str, str]:
    """The image kubeadm pulls for `component`, and its path in a site registry.

    kubeadm puts coredns under `coredns/` only in the default registry
    (GetDNSImage in kubeadm's images package); a custom imageRepository
    serves it as `<repository>/coredns`.
    """
    name = (
        "coredns/coredns"
        if component == "coredns" and repository == UPSTREAM_REGISTRY
        else component
    )
    return f"{repository}/{name}:{tag}", f"{component}:{tag}"


def _path_of(image: str) -> str:
    """An image reference without its registry host: what a site registry serves it as."""
    first, _, rest = image.partition("/")
    return rest if rest and ("." in first or ":" in first or first == "localhost") else image


def _smoke_test_images(root: Path) -> list[str]:
    pod = yaml.safe_load((root / SMOKE_TEST_POD).read_text())
    return [container["image"] for container in pod["spec"]["containers"]]


def _pinned_requirements(root: Path) -> tuple[str, ...]:
    lines = (root / MLFLOW_REQUIREMENTS).read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def build(overrides: Mapping[str, Any] | None = None, root: Path | None = None) -> Bundle:
    """The bundle for the roles' defaults, with `overrides` (inventory values) applied."""
    base = root or paths.project_root()
    settings = role_settings(base)
    renderer = render(settings, overrides)

    def value(name: str) -> Any:
        return renderer.template("{{ " + name + " }}")

    versions: dict[str, str] = value("kubernetes_node_package_versions")
    packages = tuple(
        Package(name, str(versions[name]), f"{name}_{versions[name]}_amd64.deb")
        for name in value("kubernetes_node_packages")
    )
    repository = str(value("kubernetes_control_plane_image_repository"))
    tags: dict[str, str] = value("kubernetes_control_plane_images")
    images = [
        Image(component, *_kubeadm_image(repository, component, str(tags[component])))
        for component in KUBEADM_IMAGES
    ]
    for component, image in value("kubernetes_control_plane_flannel_images").items():
        images.append(Image(component, str(image), _path_of(str(image))))
    device_plugin = str(value("kubernetes_control_plane_device_plugin_image"))
    images.append(Image("nvidia-device-plugin", device_plugin, _path_of(device_plugin)))
    images.extend(
        Image("gpu-smoke-test", image, _path_of(image)) for image in _smoke_test_images(base)
    )
    # Pulled by GPU nodes from the cluster registry (role dcgm_exporter) on every site.
    dcgm_exporter = str(value("dcgm_exporter_upstream_image"))
    images.append(Image("dcgm-exporter", dcgm_exporter, _path_of(dcgm_exporter)))
    return Bundle(
        kubernetes_version=str(value("kubernetes_node_version")),
        apt_repository=str(value("kubernetes_node_apt_repo_url")),
        packages=packages,
        images=tuple(images),
        python_requirements=_pinned_requirements(base),
    )


def as_text(bundle: Bundle) -> str:
    lines = [
        f"Kubernetes {bundle.kubernetes_version}: what an air-gapped site must provide",
        "",
        f"Packages (a directory for kubernetes_node_offline_dir; from {bundle.apt_repository}):",
    ]
    lines += [f"  {p.name:<16} {p.version:<14} {p.file}" for p in bundle.packages]
    lines += [
        "",
        "Images (push each to the cluster registry under the path shown, then set",
        "kubernetes_control_plane_image_repository and the image variables to it):",
    ]
    width = max(len(i.component) for i in bundle.images)
    lines += [f"  {i.component:<{width}}  {i.image}  ->  {i.registry_path}" for i in bundle.images]
    lines += [
        "",
        "Python wheels for MLflow (a directory on the management node for mlflow_wheelhouse_dir;",
        f"pip download --only-binary=:all: --no-deps -r {MLFLOW_REQUIREMENTS}):",
    ]
    lines += [f"  {requirement}" for requirement in bundle.python_requirements]
    return "\n".join(lines) + "\n"


def as_json(bundle: Bundle) -> str:
    return json.dumps(bundle.as_dict(), indent=2) + "\n"
