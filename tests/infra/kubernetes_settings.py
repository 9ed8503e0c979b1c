"""The Kubernetes roles' settings for one host: role defaults rendered with its inventory values.

The testinfra modules of the three Kubernetes roles expect what the roles
were told, never one scenario's values: the roles' own defaults, overridden
by the inventory, rendered by Ansible's templating (gpucluster.offline_bundle).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from gpucluster import paths
from gpucluster.offline_bundle import render, role_settings


def settings_of(inventory: Any) -> Callable[[str], Any]:
    """name -> the value the roles used on this host."""
    settings = role_settings()
    worker = paths.project_root() / "roles" / "kubernetes_worker"
    for kind in ("defaults", "vars"):
        settings.update(yaml.safe_load((worker / kind / "main.yml").read_text()))
    templar = render(settings, {**inventory.vars, "inventory_hostname": inventory.name})
    return lambda name: templar.template("{{ " + name + " }}")


def not_executed(host: Any, binary: str, step: str) -> None:
    """Skip, saying so, when `binary` is not installed on the host."""
    import pytest

    if not host.exists(binary):
        pytest.skip(f"not executed here: {step} (no {binary} in PATH on {host.backend.host})")
