"""The people and projects declaration: every mistake is named with file, line and field,
and the user/project edits keep the file's comments and change nothing when rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

import gpucluster.inventory.edit as inventory_edit
from gpucluster.inventory import load_cluster
from gpucluster.inventory.people_edits import (
    PEOPLE_FILE,
    NewProject,
    NewUser,
    add_project,
    add_user,
    set_user_locked,
)
from gpucluster.inventory.problems import InventoryError

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3Qta2V5LWZvci11bml0LXRlc3RzLW9ubHk= bob@laptop"


def _vars(inventory: Path) -> Path:
    return inventory / "group_vars" / "all.yml"


def _problems(inventory: Path) -> list[str]:
    with pytest.raises(InventoryError) as caught:
        load_cluster(inventory)
    return [str(problem) for problem in caught.value.problems]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_example_declaration_is_valid(inventory):
    load_cluster(inventory)


def test_a_duplicate_uid_names_file_line_and_both_users(inventory):
    _replace(_vars(inventory), "uid: 10002", "uid: 10001")
    lines = _vars(inventory).read_text().splitlines()
    line = max(n for n, text in enumerate(lines, 1) if "uid: 10001" in text)
    assert _problems(inventory) == [
        f"{_vars(inventory)}:{line}: cluster_users[1].uid: 10001 is already the uid of "
        "cluster_users[0]"
    ]


def test_a_project_nobody_declared_is_refused(inventory):
    _replace(_vars(inventory), "projects: [vision]", "projects: [vison]")
    (problem,) = _problems(inventory)
    assert "cluster_users[0].projects[0]: vison is not a declared project" in problem


def test_a_project_gid_may_not_reuse_the_people_group(inventory):
    _replace(_vars(inventory), "gid: 20002", "gid: 10000")
    (problem,) = _problems(inventory)
    assert "cluster_projects[1].gid: 10000 is already the gid of cluster_people_group" in problem


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("uid: 10001", "uid: 0", "cluster_users[0].uid: 0 is not an id from 10000 to 59999"),
        ("name: alice", "name: root", "cluster_users[0].name: root is already a local account"),
        ("name: alice", "name: Alice", "cluster_users[0].name: Alice is not a user name"),
        ("admin: true", "admin: yes please", "cluster_users[1].admin: 'yes please' is not true"),
        ("- name: vision", "- name: v", "cluster_projects[0].name: v is not a project name"),
        ("AAAAIGFsaWNl", "!!!", "cluster_users[0].ssh_keys[0]: is not an SSH public key"),
        ("full_name: Alice Example", "fullname: Alice", "cluster_users[0].fullname: unknown"),
    ],
)
def test_bad_fields_are_named(inventory, old, new, expected):
    _replace(_vars(inventory), old, new)
    assert any(expected in problem for problem in _problems(inventory)), _problems(inventory)


def test_templated_keys_are_refused(inventory):
    _replace(
        _vars(inventory),
        '- "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFsaWNl',
        "- \"{{ lookup('file', 'k.pub') }}\" #",
    )
    problems = _problems(inventory)
    assert any("cluster_users[0].ssh_keys[0]: holds template syntax" in p for p in problems)


def test_user_add_appends_with_the_next_uid_and_keeps_comments(inventory):
    before = _vars(inventory).read_text()
    add_user(inventory, NewUser(name="bob", projects=("nlp",), ssh_keys=(KEY,)))
    after = _vars(inventory).read_text()
    assert after.startswith(before.rstrip("\n"))
    added = after[len(before.rstrip("\n")) :]
    assert "- name: bob\n" in added
    assert "uid: 10003\n" in added
    assert KEY in added
    assert "# Every user's primary group" in after
    load_cluster(inventory)


def test_windows_line_ends_are_kept_like_the_hosts_file_edit_keeps_them(inventory):
    crlf = _vars(inventory).read_bytes().replace(b"\n", b"\r\n")
    _vars(inventory).write_bytes(crlf)
    add_user(inventory, NewUser(name="bob", projects=("nlp",), ssh_keys=(KEY,)))
    assert _vars(inventory).read_bytes().startswith(crlf.rstrip(b"\r\n"))
    add_project(inventory, NewProject(name="speech"))
    after = _vars(inventory).read_bytes()
    assert b"- name: bob\r\n" in after and b"- name: speech\r\n" in after
    assert after.count(b"\n") == after.count(b"\r\n"), "a bare LF line end was written"
    load_cluster(inventory)


def test_a_crlf_user_add_goes_through_the_edit_node_edits_use(inventory, monkeypatch):
    """The CRLF bug came from two edits that drifted apart; now there is one (inventory.edit).

    A user add on a CRLF group_vars/all.yml is validated by that edit (so a concurrent change is
    caught by its check, not taken for the CRLF file differing from what was read) and, left
    alone, succeeds with CRLF kept (the test above).
    """
    crlf = _vars(inventory).read_bytes().replace(b"\n", b"\r\n")
    _vars(inventory).write_bytes(crlf)
    validate = inventory_edit.cluster_from_documents
    calls = []

    def validate_and_count(*args, **kwargs):
        calls.append(args[0].path)
        return validate(*args, **kwargs)

    monkeypatch.setattr(inventory_edit, "cluster_from_documents", validate_and_count)
    add_user(inventory, NewUser(name="bob", projects=("nlp",), ssh_keys=(KEY,)))
    assert len(calls) == 2, "validated before and after rendering, like a node edit"
    assert b"- name: bob\r\n" in _vars(inventory).read_bytes()

    concurrent = _vars(inventory).read_bytes() + b"# someone else's edit\r\n"

    def validate_while_someone_edits(*args, **kwargs):
        _vars(inventory).write_bytes(concurrent)
        return validate(*args, **kwargs)

    monkeypatch.setattr(inventory_edit, "cluster_from_documents", validate_while_someone_edits)
    with pytest.raises(InventoryError, match="changed by someone else"):
        add_user(inventory, NewUser(name="carol", projects=("nlp",), ssh_keys=(KEY,)))
    assert _vars(inventory).read_bytes() == concurrent


def test_a_rejected_user_add_changes_nothing(inventory):
    before = _vars(inventory).read_bytes()
    with pytest.raises(InventoryError) as caught:
        add_user(inventory, NewUser(name="bob", projects=("nope",), ssh_keys=(KEY,)))
    assert "nope is not a declared project" in str(caught.value)
    with pytest.raises(InventoryError) as caught:
        add_user(inventory, NewUser(name="alice", projects=(), ssh_keys=(KEY,)))
    assert "alice already exists" in str(caught.value)
    assert _vars(inventory).read_bytes() == before


def test_lock_then_unlock(inventory):
    set_user_locked(inventory, "alice", locked=True)
    assert "locked: true" in _vars(inventory).read_text()
    set_user_locked(inventory, "alice", locked=False)
    assert "locked: false" in _vars(inventory).read_text()
    with pytest.raises(InventoryError) as caught:
        set_user_locked(inventory, "nobody-here", locked=True)
    assert "no user nobody-here is declared" in str(caught.value)


def test_project_add_takes_the_next_gid(inventory):
    add_project(inventory, NewProject(name="speech", description="ASR"))
    text = _vars(inventory).read_text()
    assert "- name: speech\n    gid: 20003\n    description: ASR\n" in text
    with pytest.raises(InventoryError):
        add_project(inventory, NewProject(name="speech"))


def test_without_a_declaration_all_yml_receives_it(inventory):
    text = _vars(inventory).read_text()
    _vars(inventory).write_text(text[: text.index("# People and projects")])
    add_project(inventory, NewProject(name="vision"))
    assert not (inventory / PEOPLE_FILE).exists()  # a directory would hide all.yml
    assert "cluster_projects:\n  - name: vision\n    gid: 20001\n" in _vars(inventory).read_text()
    load_cluster(inventory)


def test_without_a_declaration_an_all_directory_gets_people_yml(inventory):
    text = _vars(inventory).read_text()
    (inventory / "group_vars" / "all").mkdir()
    (inventory / "group_vars" / "all" / "main.yml").write_text(
        text[: text.index("# People and projects")]
    )
    _vars(inventory).unlink()
    add_project(inventory, NewProject(name="vision"))
    people = inventory / PEOPLE_FILE
    assert people.read_text().startswith("---\n# People and projects")
    assert "cluster_projects:\n  - name: vision\n    gid: 20001\n" in people.read_text()
    add_user(inventory, NewUser(name="bob", projects=("vision",), ssh_keys=(KEY,)))
    assert "cluster_users:" in people.read_text()
    load_cluster(inventory)


def test_cli_user_add_reads_the_key_file_and_refuses_a_private_key(inventory, tmp_path):
    from gpucluster.cli import main

    public = tmp_path / "bob.pub"
    public.write_text(KEY + "\n")
    private = tmp_path / "bob"
    private.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nxxx\n")
    common = ["--project", "nlp", "--edit-only", "-i", str(inventory)]
    assert main(["user", "add", "bob", "--ssh-key", str(private), *common]) == 2
    assert "bob" not in _vars(inventory).read_text()
    assert main(["user", "add", "bob", "--ssh-key", str(public), *common]) == 0
    assert KEY in _vars(inventory).read_text()
    assert main(["user", "lock", "bob", "--edit-only", "-i", str(inventory)]) == 0
    assert main(["project", "add", "speech", "--edit-only", "-i", str(inventory)]) == 0
