"""Values people type are data: never rendered as templates, never able to grant more.

Each test here failed before the fix it guards (see the security issue): a key comment that
ran a lookup on the controller, a project named after the local sudo group, host_vars the
checker never read, a device file read as a key until memory ran out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpucluster.cli import main
from gpucluster.inventory import load_cluster
from gpucluster.inventory.problems import InventoryError

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3Qta2V5LWZvci11bml0LXRlc3RzLW9ubHk="
ANSIBLE = Path(sys.executable).parent / "ansible"


def _payload(marker: Path) -> str:
    """Template syntax that, if Ansible ever rendered it, would create `marker`."""
    return "x{{ lookup('ansible.builtin.pipe', 'touch " + str(marker) + "') }}"


def _render_with_ansible(inventory: Path, variable: str) -> subprocess.CompletedProcess[str]:
    """Make Ansible read the inventory and render `variable`, as any playbook would.

    `debug var=` templates the variable on the controller without contacting the node.
    """
    config = inventory.parent / "ansible.cfg"
    config.write_text("[defaults]\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(config), "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run(
        [
            str(ANSIBLE),
            "login01",
            "-i",
            str(inventory / "hosts.yml"),
            "-c",
            "local",
            "-m",
            "ansible.builtin.debug",
            "-a",
            f"var={variable}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def _edit(inventory: Path, *argv: str) -> int:
    """One CLI edit of `inventory`, stopping before any run."""
    return main([*argv, "--edit-only", "-i", str(inventory)])


def _add_eve(inventory: Path, key: str, *extra: str) -> int:
    return _edit(inventory, "user", "add", "eve", "--project", "nlp", "--ssh-key", key, *extra)


def _snapshot(inventory: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(inventory.rglob("*")) if p.is_file()}


def test_the_hazard_is_real_ansible_runs_a_lookup_written_into_the_inventory(inventory, tmp_path):
    """The control: written by hand, the payload runs the moment Ansible renders it. Every
    test below relies on gpucluster refusing to ever write or accept it."""
    marker = tmp_path / "ran"
    users = inventory / "group_vars" / "all.yml"
    users.write_text(users.read_text().replace("alice@laptop", _payload(marker)))
    _render_with_ansible(inventory, "cluster_users")
    assert marker.exists()


EVE = "user add eve --project nlp --ssh-key"
NEW_NODE = "add-node gpu03 --group gpu --address 10.10.0.103 --storage-address 10.20.0.103"


@pytest.mark.parametrize(
    ("command", "where"),
    [
        (f"{EVE} {{key_file}}", "ssh_keys[0]"),
        (f"{EVE} {{plain_key}} --full-name {{payload}}", "full_name"),
        ("project add speech --description {payload}", "description"),
        (f"{NEW_NODE} --storage-interface {{short}}", "storage_interface"),
    ],
)
def test_every_edit_refuses_template_syntax_and_changes_nothing(
    inventory, tmp_path, capsys, command, where
):
    marker = tmp_path / "ran"
    key_file = tmp_path / "eve.pub"
    key_file.write_text(f"{KEY} {_payload(marker)}\n")
    plain_key = tmp_path / "plain.pub"
    plain_key.write_text(f"{KEY} eve@laptop\n")
    values = {
        "key_file": str(key_file),
        "plain_key": str(plain_key),
        "payload": _payload(marker),
        "short": "{{x}}",
    }
    # Split first, then fill in: a value is one argument, whatever it holds.
    argv = [part.format(**values) if part.startswith("{") else part for part in command.split()]
    before = _snapshot(inventory)

    assert _edit(inventory, *argv) == 2

    out = capsys.readouterr().out
    assert "holds template syntax" in out and where in out, out
    assert _snapshot(inventory) == before
    _render_with_ansible(inventory, "cluster_users")
    assert not marker.exists()


def test_an_accepted_edit_keeps_odd_characters_literal_when_ansible_renders_it(inventory, tmp_path):
    """Shell and brace characters that are not template syntax are stored and rendered as
    written: the value reaches the roles as data."""
    odd = "eve $(touch /tmp/never) `id` { {x} } %} #}"
    key_file = tmp_path / "eve.pub"
    key_file.write_text(f"{KEY} {odd}\n")
    assert _add_eve(inventory, str(key_file), "--full-name", "Eve {x} $(id)") == 0
    rendered = _render_with_ansible(inventory, "cluster_users")
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    assert odd in rendered.stdout and "Eve {x} $(id)" in rendered.stdout


def test_the_checker_refuses_template_syntax_in_host_vars(inventory, tmp_path, capsys):
    (inventory / "host_vars").mkdir()
    (inventory / "host_vars" / "gpu01.yml").write_text(
        f'---\nstorage_interface: "{_payload(tmp_path / "ran")}"\n'
    )
    assert main(["check", "--offline", "-i", str(inventory)]) == 2
    out = capsys.readouterr().out
    assert f"{inventory / 'host_vars' / 'gpu01.yml'}:2: host gpu01: storage_interface" in out


def test_restore_paths_are_data(inventory, capsys):
    target = "fs01:/srv/nfs/home/alice/{{ lookup('pipe', 'id') }}"
    assert (
        main(["backup", "restore", "--source", target, "--to", target, "-i", str(inventory)]) == 2
    )
    assert "holds template syntax" in capsys.readouterr().out


# --- declared people cannot become local accounts -----------------------------------------


def _problems(inventory: Path) -> str:
    with pytest.raises(InventoryError) as caught:
        load_cluster(inventory)
    return str(caught.value)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["project", "add", "gpuadmin"], "gpuadmin is already the local admin group"),
        (["project", "add", "sudo"], "sudo is already a local account or group of every node"),
        (["project", "add", "docker"], "docker is already a local account or group"),
        (["user", "add", "opsadmin", "--project", "nlp"], "opsadmin is already a local admin"),
        (["user", "add", "sshd", "--project", "nlp"], "sshd is already a local account"),
        (
            ["user", "add", "gpucluster", "--project", "nlp"],
            "gpucluster is already the registry's service account",
        ),
        (["user", "add", "eve", "--project", "nlp", "--uid", "0"], "uid: 0 is not an id from"),
        (["user", "add", "eve", "--project", "nlp", "--uid", "1001"], "1001 is not an id from"),
        (["project", "add", "speech", "--gid", "0"], "gid: 0 is not an id from 10000"),
        (["project", "add", "speech", "--gid", "27"], "gid: 27 is not an id from 10000"),
    ],
)
def test_declared_people_cannot_take_local_names_or_ids(inventory, capsys, command, message):
    before = _snapshot(inventory)
    assert _edit(inventory, *command) == 2
    assert message in capsys.readouterr().out
    assert _snapshot(inventory) == before


def test_an_admin_group_renamed_in_the_inventory_is_reserved_too(inventory):
    all_yml = inventory / "group_vars" / "all.yml"
    text = all_yml.read_text().replace("- name: nlp", "- name: wheelers")
    all_yml.write_text(text + "common_admin_group: wheelers\n")
    assert "wheelers is already the local admin group" in _problems(inventory)


def test_ids_start_at_the_configured_first_id(inventory):
    all_yml = inventory / "group_vars" / "all.yml"
    all_yml.write_text(all_yml.read_text() + "cluster_people_first_id: 15000\n")
    assert "10001 is not an id from 15000 to 59999" in _problems(inventory)
    text = all_yml.read_text()
    for old, new in (("10001", "15001"), ("10002", "15002"), ("10000}", "15000}")):
        text = text.replace(old, new)
    text = text.replace("20001", "25001").replace("20002", "25002")
    all_yml.write_text(text)
    load_cluster(inventory)
    assert _edit(inventory, "project", "add", "speech") == 0
    assert "gid: 25003" in all_yml.read_text()


# --- the checker sees what Ansible sees -------------------------------------------------------


def test_host_vars_are_validated(inventory):
    (inventory / "host_vars" / "gpu02").mkdir(parents=True)
    (inventory / "host_vars" / "gpu02" / "net.yml").write_text("storage_address: 10.30.0.102\n")
    problems = _problems(inventory)
    assert f"{inventory}/host_vars/gpu02/net.yml:1: host gpu02: storage_address: " in problems
    assert "10.30.0.102 is not in storage_network 10.20.0.0/24" in problems


def test_group_vars_of_one_group_are_validated(inventory):
    (inventory / "group_vars" / "gpu.yml").write_text("storage_mac: not-a-mac\ncluster_users: []\n")
    problems = _problems(inventory)
    assert "gpu.yml:2: cluster_users: a cluster-wide variable: set it in group_vars/all" in problems
    # gpu01 and gpu02 set their own MAC (host entries win); no other gpu node exists.
    assert "not-a-mac" not in problems
    (inventory / "group_vars" / "login").mkdir()
    (inventory / "group_vars" / "login" / "nic.yml").write_text("storage_mac: not-a-mac\n")
    assert "host login01: storage_mac: not-a-mac is not a MAC address" in _problems(inventory)


@pytest.mark.parametrize("name", ["all", "localhost", "ungrouped", "gpu", "backup"])
def test_host_names_ansible_reads_as_patterns_are_refused(inventory, name):
    hosts = inventory / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("gpu02:", f"{name}:"))
    assert f"host {name}: {name} is a" in _problems(inventory)


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("hosts.yml", "all:\n  children:\n    gpu:\n      hosts:\n        gpu01: [1, 2]\n"),
        ("group_vars/all.yml", "storage_network: {cidr: [10.20.0.0/24]}\ncluster_name: [a]\n"),
        ("group_vars/all.yml", "cluster_users: " + "[" * 5000 + "]" * 5000 + "\n"),
        ("group_vars/all.yml", "cluster_users: &a [" + "&b [*a, *a, *a], " * 1 + "*a]\n"),
        (
            "group_vars/all.yml",
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
                for i in range(9)
            )
            + "cluster_users: *j\n",
        ),
        ("hosts.yml", "x" * (1024 * 1024 + 10)),
    ],
    ids=["list-for-mapping", "list-for-scalar", "deep", "recursive-alias", "alias-bomb", "huge"],
)
def test_malformed_structure_gives_located_errors_never_a_traceback(inventory, capsys, where, text):
    (inventory / where).write_text(text)
    assert main(["check", "--offline", "-i", str(inventory)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    errors = [line for line in captured.out.splitlines() if line.startswith("error:")]
    assert errors and all(str(inventory) in line for line in errors), captured.out
    assert all(len(line) < 400 for line in errors), errors


def test_a_key_file_that_is_a_device_or_huge_is_refused(inventory, tmp_path, capsys):
    huge = tmp_path / "huge.pub"
    huge.write_text(KEY + " x" * 100_000 + "\n")
    for key in ("/dev/zero", str(huge)):
        assert _add_eve(inventory, key) == 2
    out = capsys.readouterr().out
    assert "not a regular file" in out and "larger than" in out


# --- secrets stay secret ---------------------------------------------------------------------


def test_check_warns_when_git_tracks_the_secrets_directory(inventory, capsys):
    git = ["git", "-C", str(inventory), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (inventory / ".secrets").mkdir()
    (inventory / ".secrets" / "ldap_admin_password").write_text("pw\n")
    assert main(["check", "--offline", "-i", str(inventory)]) == 0
    assert "warning" not in capsys.readouterr().out
    subprocess.run([*git, "add", "-f", ".secrets"], check=True)
    assert main(["check", "--offline", "-i", str(inventory)]) == 0
    out = capsys.readouterr().out
    assert "git tracks 1 secret file(s) (.secrets/ldap_admin_password)" in out


def test_the_project_ignores_secrets_directories():
    root = Path(__file__).resolve().parents[2]
    ignored = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "-q", "inventory/example/.secrets/x"],
        check=False,
    )
    assert ignored.returncode == 0
