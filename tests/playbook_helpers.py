"""Run playbooks against a Molecule scenario's instances, the way its converge runs.

Molecule-only tests use it to exercise a role's failure paths (a missing NIC,
a missing GPU) without breaking the scenario's own converge, and to drive the
production playbooks (backups and restores) against the scenario's nodes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from gpucluster.runner import mitogen_enabled

ROOT = Path(__file__).resolve().parents[1]
CONVERGE_VARS = ROOT / ".config" / "molecule" / "converge.yml"
"""The scenarios' converge settings (mitogen over its docker transport unless
GPUCLUSTER_MITOGEN=0): a role applied by a test runs the way converge ran it."""


def _docker_transport_overlay() -> Path:
    """An inventory naming the scenario's connection `docker` for every instance.

    mitogen takes over only that short name (.config/molecule/converge.yml says why);
    Molecule's own inventory says community.docker.docker. A later inventory source
    overrides an earlier one's host variables, and localhost (delegated tasks) is left alone.
    """
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"])
    hosts = (yaml.safe_load(inventory.read_text()) or {}).get("all", {}).get("hosts", {}) or {}
    overlay = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "docker-transport.yml"
    docker_transport = {name: {"ansible_connection": "docker"} for name in hosts}
    overlay.write_text(yaml.safe_dump({"all": {"hosts": docker_transport}}))
    return overlay


def run_playbook(playbook: Path, *extra: str) -> tuple[int, str]:
    """Run `playbook` against the scenario's instances; return rc and stdout + stderr."""
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    sources = ["-i", inventory]
    env = dict(
        os.environ,
        ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
    )
    if mitogen_enabled():
        sources += ["-i", str(_docker_transport_overlay())]
        env["ANSIBLE_STRATEGY"] = "mitogen_linear"
    completed = subprocess.run(
        ["ansible-playbook", *sources, str(playbook), *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


def run_role(
    tmp_path: Path, hosts: str, role: str, *extra: str, tasks_from: str = "main"
) -> tuple[int, str]:
    """Apply `role` (entry point `tasks_from`) to `hosts`; return rc and the flattened output."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        f"- name: Apply {role}\n  hosts: {hosts}\n  gather_facts: false\n"
        f"  strategy: '{{{{ gpucluster_converge_strategy }}}}'\n"
        f"  vars_files: {CONVERGE_VARS}\n  tasks:\n"
        f"    - name: Include {role}\n      ansible.builtin.include_role:\n"
        f"        name: {role}\n        tasks_from: {tasks_from}\n"
    )
    rc, output = run_playbook(playbook, *extra)
    return rc, " ".join(output.split())
