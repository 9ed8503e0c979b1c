"""ansible-runner for real, against this machine over the local connection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpucluster.run_environment import clean_environment
from gpucluster.runner import RunRequest, run_playbook

SECRET = "s3cr3t-value-that-must-not-leak"

PLAYBOOK = """---
- name: Local run
  hosts: all
  gather_facts: false
  vars_files:
    - {secrets}
  tasks:
    - name: Use the secret
      ansible.builtin.set_fact:
        derived: "{{{{ local_secret | length }}}}"
      no_log: true
    - name: Change something
      ansible.builtin.copy:
        content: "hello\\n"
        dest: "{target}"
        mode: "0644"
    - name: Fail and get rescued
      block:
        - name: Fail on purpose
          ansible.builtin.fail:
            msg: expected failure
      rescue:
        - name: Rescue it
          ansible.builtin.debug:
            msg: rescued
    - name: Report
      ansible.builtin.debug:
        msg: "{{{{ derived }}}}"
"""


@pytest.fixture
def local_inventory(tmp_path: Path) -> Path:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    localnode:\n"
        "      ansible_connection: local\n"
        f"      ansible_python_interpreter: {os.sys.executable}\n"
    )
    return inventory


def _all_text_under(directory: Path) -> str:
    texts = []
    for path in directory.rglob("*"):
        if path.is_file():
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


def test_real_run_reports_stats_and_leaks_no_secret(tmp_path, local_inventory, monkeypatch):
    monkeypatch.setenv("GPUCLUSTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OPERATOR_API_TOKEN", SECRET)
    monkeypatch.setenv("ANSIBLE_BECOME_PASS", SECRET)
    monkeypatch.setenv("ANSIBLE_SSH_PASS", SECRET)
    secrets = tmp_path / "secrets.yml"
    secrets.write_text(f"local_secret: {SECRET}\n")
    secrets.chmod(0o600)
    target = tmp_path / "out.txt"
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.format(secrets=secrets, target=target))

    seen = []
    request = RunRequest(
        playbook=str(playbook),
        inventory=local_inventory,
        command_name="test",
        capture_results_of=frozenset({"Report"}),
    )
    result = run_playbook(request, seen.append)

    assert result.succeeded, result
    stats = result.hosts["localnode"]
    assert stats.changed == 1
    assert stats.failed == 0 and stats.rescued == 1
    assert target.read_text() == "hello\n"
    assert str(result.results_of("Report")["localnode"]["msg"]) == str(len(SECRET))
    assert [o.status for o in seen if o.task == "Change something"] == ["changed"]
    # The run keeps its artifacts, and no secret from the env or a vars file is in them.
    assert (result.run_dir / "artifacts").is_dir()
    assert list(result.run_dir.rglob("stdout"))
    assert SECRET not in _all_text_under(result.run_dir)

    second = run_playbook(request)
    assert second.succeeded and second.hosts["localnode"].changed == 0
    assert second.run_dir != result.run_dir


def test_unreachable_host_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUCLUSTER_STATE_DIR", str(tmp_path / "state"))
    inventory = tmp_path / "hosts.yml"
    # A name that cannot resolve: nothing on the network is contacted.
    inventory.write_text(
        "all:\n  hosts:\n    ghost:\n      ansible_host: ghost.invalid\n"
        "      ansible_ssh_common_args: -o ConnectTimeout=2\n"
    )
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- name: Ping\n  hosts: all\n  gather_facts: false\n"
        "  tasks:\n    - name: Ping\n      ansible.builtin.ping:\n"
    )
    result = run_playbook(RunRequest(playbook=str(playbook), inventory=inventory, command_name="t"))
    assert not result.succeeded
    assert result.failed_hosts() == ["ghost"]
    assert result.hosts["ghost"].unreachable == 1


def test_clean_environment_drops_secrets_and_strangers():
    env = {
        "PATH": "/bin",
        "HOME": "/root",
        "ANSIBLE_VAULT_PASSWORD_FILE": "/x",
        "ANSIBLE_BECOME_PASSWORD": "p",
        "ANSIBLE_BECOME_PASS": "p",
        "ANSIBLE_SSH_PASS": "p",
        "ANSIBLE_CONNECTION_PASSWORD_FILE": "/y",
        "ANSIBLE_VAULT_PASSWORD": "p",
        "AWS_SECRET_ACCESS_KEY": "k",
        "RANDOM_VAR": "v",
    }
    assert clean_environment(env) == {
        "PATH": "/bin",
        "HOME": "/root",
        "ANSIBLE_VAULT_PASSWORD_FILE": "/x",
        "ANSIBLE_CONNECTION_PASSWORD_FILE": "/y",
    }
