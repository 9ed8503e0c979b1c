"""Repeating a command after a failed or interrupted run finishes the job; a repeat that
conflicts with what the inventory holds is refused, naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpucluster.cli import main
from gpucluster.commands import EXIT_BAD_INPUT, EXIT_OK

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3Qta2V5LWZvci11bml0LXRlc3RzLW9ubHk= bob@laptop"
GPU03 = [
    "add-node", "gpu03", "--group", "gpu", "--address", "10.10.0.103",
    "--storage-address", "10.20.0.103", "--storage-mac", "3c:fd:fe:00:01:03",
]  # fmt: skip


def _hosts(inventory: Path) -> bytes:
    return (inventory / "hosts.yml").read_bytes()


def _vars(inventory: Path) -> bytes:
    return (inventory / "group_vars" / "all.yml").read_bytes()


def test_add_node_repeated_as_given_goes_straight_to_the_run(inventory, runs, capsys):
    assert main([*GPU03, "--edit-only", "-i", str(inventory)]) == EXIT_OK
    after_edit = _hosts(inventory)
    capsys.readouterr()
    # The MAC in other letters is the same MAC.
    argv = [*GPU03[:-1], "3C:FD:FE:00:01:03", "-i", str(inventory)]
    assert main(argv) == EXIT_OK
    assert _hosts(inventory) == after_edit
    assert "already in the inventory (group gpu) with these values" in capsys.readouterr().out
    assert [request.playbook for request in runs] == ["add-node.yml"]
    assert runs[0].extravars == {"gpucluster_new_nodes": ["gpu03"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("--storage-mac", "3c:fd:fe:00:01:99"), "storage_mac"),
        (("--address", "10.10.0.150"), "ansible_host"),
        (("--storage-address", "10.20.0.150"), "storage_address"),
        (("--group", "login"), "group"),
    ],
)
def test_add_node_repeated_with_other_values_is_refused_naming_the_field(
    inventory, runs, capsys, change, field
):
    assert main([*GPU03, "--edit-only", "-i", str(inventory)]) == EXIT_OK
    after_edit = _hosts(inventory)
    argv = list(GPU03)
    argv[argv.index(change[0]) + 1] = change[1]
    capsys.readouterr()
    assert main([*argv, "-i", str(inventory)]) == EXIT_BAD_INPUT
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("error:"))
    assert "hosts.yml:" in line and "host gpu03" in line and f"{field}:" in line
    assert change[1] in line
    assert _hosts(inventory) == after_edit and runs == []


def test_a_mac_left_out_of_the_repeat_is_a_difference(inventory, runs, capsys):
    """gpu01 is declared with a storage_mac; a repeat without one would provision otherwise."""
    argv = ["add-node", "gpu01", "--group", "gpu", "--address", "10.10.0.101",
            "--storage-address", "10.20.0.101", "-i", str(inventory)]  # fmt: skip
    assert main(argv) == EXIT_BAD_INPUT
    out = capsys.readouterr().out
    assert "hosts.yml:35: host gpu01: storage_mac:" in out and "the command gives none" in out
    assert main([*argv, "--storage-mac", "3c:fd:fe:00:01:01"]) == EXIT_OK
    assert len(runs) == 1


def test_user_add_repeated_as_given_goes_straight_to_the_run(inventory, runs, tmp_path, capsys):
    key = tmp_path / "bob.pub"
    key.write_text(KEY + "\n")
    argv = ["user", "add", "bob", "--project", "nlp", "--ssh-key", str(key), "-i", str(inventory)]
    assert main([*argv, "--edit-only"]) == EXIT_OK
    after_edit = _vars(inventory)
    assert main(argv) == EXIT_OK
    assert _vars(inventory) == after_edit
    assert "user bob is already declared" in capsys.readouterr().out
    assert [request.playbook for request in runs] == ["people.yml"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--project", "vision"], "projects"),
        (["--project", "nlp", "--uid", "10999"], "uid"),
        (["--project", "nlp", "--admin"], "admin"),
        (["--project", "nlp", "--full-name", "Robert"], "full_name"),
    ],
)
def test_user_add_repeated_with_other_values_is_refused(
    inventory, runs, tmp_path, capsys, extra, field
):
    key = tmp_path / "bob.pub"
    key.write_text(KEY + "\n")
    base = ["user", "add", "bob", "--ssh-key", str(key), "-i", str(inventory)]
    assert main([*base, "--project", "nlp", "--edit-only"]) == EXIT_OK
    after_edit = _vars(inventory)
    capsys.readouterr()
    assert main([*base, *extra]) == EXIT_BAD_INPUT
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("error:"))
    assert "all.yml:" in line and f"cluster_users: {field}:" in line
    assert _vars(inventory) == after_edit and runs == []


def test_user_add_of_a_locked_user_is_refused_naming_locked(inventory, runs, tmp_path, capsys):
    key = tmp_path / "bob.pub"
    key.write_text(KEY + "\n")
    argv = ["user", "add", "bob", "--project", "nlp", "--ssh-key", str(key), "-i", str(inventory)]
    assert main([*argv, "--edit-only"]) == EXIT_OK
    assert main(["user", "lock", "bob", "--edit-only", "-i", str(inventory)]) == EXIT_OK
    capsys.readouterr()
    assert main(argv) == EXIT_BAD_INPUT
    assert "cluster_users: locked:" in capsys.readouterr().out


def test_project_add_repeats(inventory, runs, capsys):
    argv = ["project", "add", "speech", "--description", "ASR", "-i", str(inventory)]
    assert main([*argv, "--edit-only"]) == EXIT_OK
    after_edit = _vars(inventory)
    assert main(argv) == EXIT_OK  # the same: straight to the run
    assert main(["project", "add", "speech", "-i", str(inventory)]) == EXIT_OK  # gid, text free
    assert _vars(inventory) == after_edit
    assert len(runs) == 2
    capsys.readouterr()
    assert main(["project", "add", "speech", "--gid", "20999", "-i", str(inventory)]) == 2
    assert "cluster_projects: gid:" in capsys.readouterr().out
    assert _vars(inventory) == after_edit


def test_remove_node_repeated_runs_the_cleanup_again(inventory, runs, capsys):
    assert main(["remove-node", "gpu02", "-i", str(inventory)]) == EXIT_OK
    after_edit = _hosts(inventory)
    capsys.readouterr()
    assert main(["remove-node", "gpu02", "-i", str(inventory)]) == EXIT_OK
    assert "gpu02 was removed from the inventory at" in capsys.readouterr().out
    assert _hosts(inventory) == after_edit
    assert [request.extravars for request in runs] == [{"gpucluster_removed_nodes": ["gpu02"]}] * 2


def test_remove_node_of_a_node_never_here_is_refused(inventory, runs, capsys):
    assert main(["remove-node", "gpu77", "-i", str(inventory)]) == EXIT_BAD_INPUT
    assert "no removal of it is recorded" in capsys.readouterr().out
    assert runs == []


def test_people_apply_runs_the_people_playbook_alone(inventory, runs):
    before = _vars(inventory)
    assert main(["people", "apply", "--limit", "gpu01", "-i", str(inventory)]) == EXIT_OK
    (request,) = runs
    assert request.playbook == "people.yml" and request.limit == "gpu01"
    assert request.command_name == "people apply"
    assert "people apply --limit {hosts}" in request.catch_up_command()
    assert _vars(inventory) == before
