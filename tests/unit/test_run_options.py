"""--limit, --check and --diff mean the same on every verb that converges nodes, and a dry run
never writes the inventory: an edit verb run with --check needs its edit made beforehand."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpucluster.cli import build_parser, main
from gpucluster.commands import EXIT_BAD_INPUT, EXIT_OK
from tests.unit.test_resume import GPU03, KEY, _hosts, _vars

CONVERGING_VERBS = [
    ["install"],
    [*GPU03],
    ["remove-node", "gpu01"],
    ["replace-node", "gpu01"],
    ["user", "add", "bob"],
    ["user", "lock", "bob"],
    ["user", "unlock", "bob"],
    ["project", "add", "vision"],
    ["people", "apply"],
]


@pytest.mark.parametrize("verb", CONVERGING_VERBS, ids=lambda verb: " ".join(verb[:2]))
def test_every_converging_verb_takes_the_three_run_options(verb):
    args = build_parser().parse_args([*verb, "--limit", "gpu", "--check", "--diff"])
    assert (args.limit, args.check, args.diff) == ("gpu", True, True)


def test_install_passes_the_options_to_the_run(inventory: Path, runs):
    argv = ["install", "--limit", "gpu", "--check", "--diff", "-i", str(inventory)]
    assert main(argv) == EXIT_OK
    assert [(r.limit, r.check, r.diff) for r in runs] == [("gpu", True, True)]


def test_add_node_limit_narrows_the_other_nodes_never_the_new_one(inventory: Path, runs):
    assert main([*GPU03, "--limit", "login", "--diff", "-i", str(inventory)]) == EXIT_OK
    assert [(r.limit, r.check, r.diff) for r in runs] == [("gpu03,login", False, True)]


def test_add_node_check_before_the_edit_is_refused_and_writes_nothing(
    inventory: Path, runs, capsys
):
    before = _hosts(inventory)
    assert main([*GPU03, "--check", "-i", str(inventory)]) == EXIT_BAD_INPUT
    assert _hosts(inventory) == before
    assert runs == []
    out = capsys.readouterr().out
    assert "--check runs against the inventory as it is" in out and "--edit-only" in out


def test_add_node_check_after_the_edit_is_a_dry_run_of_it(inventory: Path, runs):
    assert main([*GPU03, "--edit-only", "-i", str(inventory)]) == EXIT_OK
    after_edit = _hosts(inventory)
    assert main([*GPU03, "--check", "--diff", "-i", str(inventory)]) == EXIT_OK
    assert _hosts(inventory) == after_edit
    assert [(r.playbook, r.limit, r.check, r.diff) for r in runs] == [
        ("add-node.yml", None, True, True)
    ]


def test_user_add_check_needs_the_declaration_first(inventory: Path, runs, tmp_path):
    key = tmp_path / "bob.pub"
    key.write_text(KEY + "\n")
    argv = ["user", "add", "bob", "--project", "vision", "--ssh-key", str(key)]
    before = _vars(inventory)
    assert main([*argv, "--check", "-i", str(inventory)]) == EXIT_BAD_INPUT
    assert _vars(inventory) == before and runs == []
    assert main([*argv, "--edit-only", "-i", str(inventory)]) == EXIT_OK
    declared = _vars(inventory)
    assert main([*argv, "--check", "--limit", "login", "-i", str(inventory)]) == EXIT_OK
    assert _vars(inventory) == declared
    assert [(r.playbook, r.limit, r.check) for r in runs] == [("people.yml", "login", True)]


def test_user_lock_repeated_finds_the_lock_in_place(inventory: Path, runs, tmp_path, capsys):
    key = tmp_path / "bob.pub"
    key.write_text(KEY + "\n")
    assert (
        main(["user", "add", "bob", "--ssh-key", str(key), "--edit-only", "-i", str(inventory)])
        == EXIT_OK
    )
    assert main(["user", "lock", "bob", "--check", "-i", str(inventory)]) == EXIT_BAD_INPUT
    assert main(["user", "lock", "bob", "--edit-only", "-i", str(inventory)]) == EXIT_OK
    locked = _vars(inventory)
    capsys.readouterr()
    assert main(["user", "lock", "bob", "--check", "-i", str(inventory)]) == EXIT_OK
    assert _vars(inventory) == locked
    assert "user bob is already locked" in capsys.readouterr().out
    assert [(r.command_name, r.check) for r in runs] == [("user lock", True)]
