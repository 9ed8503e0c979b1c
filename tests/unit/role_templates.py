"""Render a role's templates with Ansible itself, for checks of files whose service cannot
run on this machine (kernel NFS, Grafana): the role's real templates and defaults, role
cluster's defaults, and the variables a test declares."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PLAYBOOK = """---
- name: Render the templates of role {role_name}
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files: {vars_files}
  tasks:
    - name: Render
      ansible.builtin.template:
        src: "{role}/templates/{{{{ item }}}}.j2"
        dest: "{out}/{{{{ item }}}}"
        mode: "0644"
      loop: {templates}
"""


def render_templates(
    role_name: str, templates: list[str], tmp_path: Path, extra: dict
) -> dict[str, str]:
    """{template name without .j2: rendered text}, rendered by ansible-playbook on localhost."""
    role = ROOT / "roles" / role_name
    vars_files = [
        str(path)
        for path in (
            ROOT / "roles" / "cluster" / "defaults" / "main.yml",
            role / "defaults" / "main.yml",
            role / "vars" / "main.yml",
        )
        if path.exists()
    ]
    out = tmp_path / "out"
    out.mkdir()
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        PLAYBOOK.format(
            role_name=role_name,
            role=role,
            out=out,
            vars_files=json.dumps(vars_files),
            templates=json.dumps(templates),
        )
    )
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({**extra, "ansible_python_interpreter": sys.executable}))
    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            "localhost,",
            str(playbook),
            "-e",
            f"@{variables}",
        ],
        capture_output=True,
        text=True,
        # Outside the project: its ansible.cfg expects the CLI's fact cache dir.
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
        | {"ANSIBLE_NOCOLOR": "1"},
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return {name: (out / name).read_text() for name in templates}
