"""Run a one-role playbook against a Molecule scenario's instances.

Molecule-only tests use it to exercise a role's failure paths (a missing NIC,
a missing GPU) without breaking the scenario's own converge.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONVERGE_VARS = ROOT / ".config" / "molecule" / "converge.yml"
"""The scenarios' converge settings (mitogen over its docker transport unless
GPUCLUSTER_MITOGEN=0): a role applied by a test runs the way converge ran it."""


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
    env = dict(
        os.environ,
        ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
    )
    completed = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook), *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return completed.returncode, " ".join((completed.stdout + completed.stderr).split())
