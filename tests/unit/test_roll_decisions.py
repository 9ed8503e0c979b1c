"""Which restarts and reboots a role leaves to the roll over the GPU nodes (playbooks/roll.yml).

A GPU node whose runtime was installed before the run may be running jobs: its restart waits
for the roll, one batch of nodes at a time. A new node, a node of another group, and a run
without role common (a Molecule converge of the role alone) restart at once. The decisions are
the roles' own defaults, rendered here by Ansible for hosts of the example inventory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"
DECISIONS = {
    "docker": "docker_restart_rolls",
    "containerd": "containerd_restart_rolls",
    "nvidia_driver": "nvidia_driver_reboot_rolls",
}


def decisions(inventory: Path, host: str, tmp_path: Path, **facts: Any) -> dict[str, bool]:
    """Each role's decision for `host`, with its defaults and the given facts, by Ansible."""
    settings: dict[str, Any] = {}
    for role in DECISIONS:
        settings.update(yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()))
    settings.update(facts)
    extra = tmp_path / f"{host}-vars.json"
    extra.write_text(json.dumps(settings))
    message = "{{ [" + ", ".join(f"{var} | bool" for var in DECISIONS.values()) + "] | to_json }}"
    command = [str(Path(sys.executable).parent / "ansible"), host, "-i", str(inventory)]
    command += ["-c", "local", "-e", f"@{extra}", "-m", "ansible.builtin.debug"]
    command += ["-a", f"msg={message}"]
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    msg = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"][host]["msg"]
    rendered = json.loads(msg) if isinstance(msg, str) else msg
    return dict(zip(DECISIONS, rendered, strict=True))


IN_SERVICE = {"common_preinstalled_packages": ["containerd", "docker.io"]}


@pytest.mark.parametrize(
    ("host", "facts", "expected"),
    [
        # Runtimes installed before the run, a driver loaded: everything rolls.
        ("gpu01", {**IN_SERVICE, "nvidia_driver_loaded": "550.54.14"}, True),
        # A new GPU node: nothing was installed before this run.
        ("gpu01", {"common_preinstalled_packages": [], "nvidia_driver_loaded": ""}, False),
        # Not a GPU node: restarts happen at once (no driver there either).
        ("login01", IN_SERVICE, False),
        # No role common in this run (a role's Molecule converge): at once.
        ("gpu01", {"nvidia_driver_loaded": "550.54.14"}, False),
    ],
    ids=["gpu-node-in-service", "new-gpu-node", "login-node", "without-common"],
)
def test_only_a_gpu_node_in_service_leaves_restarts_to_the_roll(
    inventory: Path, tmp_path: Path, host: str, facts: dict[str, Any], expected: bool
) -> None:
    assert decisions(inventory, host, tmp_path, **facts) == dict.fromkeys(DECISIONS, expected)
