"""`gpucluster backup`: argument parsing and the checks made before any playbook runs."""

from __future__ import annotations

import pytest

from gpucluster.cli import build_parser, main
from gpucluster.commands import backup
from gpucluster.commands.backup import (
    BadRequest,
    HostPath,
    check_snapshot,
    created_archives,
    parse_host_path,
    restore_extravars,
)
from gpucluster.inventory import load_cluster


@pytest.fixture
def no_playbooks(monkeypatch):
    """Fail the test if a command gets as far as running a playbook."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("a playbook was started")

    monkeypatch.setattr(backup, "run_with_progress", refuse)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fs01:/home/alice", HostPath("fs01", "/home/alice")),
        ("fs01:/home/alice/", HostPath("fs01", "/home/alice")),
        ("fs01://home//alice/./x", HostPath("fs01", "/home/alice/x")),
        ("mgmt01:/etc/gpucluster/pki/ca.crt", HostPath("mgmt01", "/etc/gpucluster/pki/ca.crt")),
        ("fs01:/projects/vision/a:b.txt", HostPath("fs01", "/projects/vision/a:b.txt")),
        ("fs01:/home/alice/my thesis.pdf", HostPath("fs01", "/home/alice/my thesis.pdf")),
    ],
)
def test_host_path_is_split_at_the_first_colon_and_normalised(text, expected):
    assert parse_host_path(text, "--source") == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("fs01", "expected HOST:PATH"),
        (":/home", "expected HOST:PATH"),
        ("fs01:", "expected HOST:PATH"),
        ("fs01:home/alice", "must be absolute"),
        ("fs01:/home/../etc", "'..'"),
        ("fs01:/", "not / itself"),
        ("fs01:///", "not / itself"),
        ("-x:/home", "not a host name"),
        ("fs01:/home/a\nb", "control characters"),
    ],
)
def test_bad_host_paths_are_refused_with_the_reason(text, reason):
    with pytest.raises(BadRequest, match="--to") as raised:
        parse_host_path(text, "--to")
    assert reason in str(raised.value)


@pytest.mark.parametrize("snapshot", [None, "", "fs01-2026-01-02T03:04:05Z", "mgmt01-manual.1"])
def test_snapshot_names_accepted(snapshot):
    assert check_snapshot(snapshot) == (snapshot or "")


@pytest.mark.parametrize("snapshot", ["-x", "a b", "a;rm -rf /", "a/b", "*"])
def test_snapshot_names_refused(snapshot):
    with pytest.raises(BadRequest, match="--snapshot"):
        check_snapshot(snapshot)


def test_restore_extravars_carry_the_checked_request(inventory, tmp_path):
    cluster = load_cluster(inventory)
    extravars = restore_extravars(
        cluster, "fs01:/home/alice/", "login01:/tmp/alice", "fs01-2026-01-02T03:04:05Z", tmp_path
    )
    assert extravars == {
        "backup_restore_source_host": "fs01",
        "backup_restore_source_path": "/home/alice",
        "backup_restore_target_host": "login01",
        "backup_restore_target_path": "/tmp/alice",
        "backup_restore_snapshot": "fs01-2026-01-02T03:04:05Z",
        "backup_restore_workdir": str(tmp_path),
    }


@pytest.mark.parametrize(
    ("source", "target", "option", "host"),
    [
        ("fs99:/home/alice", "fs01:/home/alice", "--source", "fs99"),
        ("fs01:/home/alice", "nowhere:/home/alice", "--to", "nowhere"),
    ],
)
def test_unknown_host_names_the_inventory_file(
    inventory, no_playbooks, capsys, source, target, option, host
):
    argv = ["backup", "restore", "-i", str(inventory), "--source", source, "--to", target]
    assert main(argv) == 2
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("error:"))
    assert option in line and repr(host) in line
    assert str(inventory / "hosts.yml") in line


def test_bad_path_is_refused_before_any_playbook(inventory, no_playbooks, capsys):
    argv = ["backup", "restore", "-i", str(inventory), "--source", "fs01:home", "--to", "fs01:/x"]
    assert main(argv) == 2
    assert "must be absolute" in capsys.readouterr().out


def test_bad_snapshot_is_refused_before_restore_ldap(inventory, no_playbooks, capsys):
    assert main(["backup", "restore-ldap", "-i", str(inventory), "--snapshot", "a b"]) == 2
    assert "--snapshot" in capsys.readouterr().out


def test_invalid_inventory_stops_before_any_playbook(inventory, no_playbooks, capsys):
    hosts = inventory / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("10.20.0.13", "10.99.0.13"))
    assert main(["backup", "list", "-i", str(inventory)]) == 2
    assert "hosts.yml" in capsys.readouterr().out


def test_restore_requires_source_and_target(capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["backup", "restore", "--source", "fs01:/home"])
    assert exited.value.code == 2
    assert "--to" in capsys.readouterr().err


def test_backup_actions_parse():
    parser = build_parser()
    args = parser.parse_args(
        ["backup", "restore", "--source", "a:/b", "--to", "c:/d", "--snapshot", "s1"]
    )
    assert (args.backup_action, args.source, args.to, args.snapshot) == (
        "restore",
        "a:/b",
        "c:/d",
        "s1",
    )
    assert parser.parse_args(["backup", "run"]).backup_action == "run"
    assert parser.parse_args(["backup", "list"]).backup_action == "list"
    assert parser.parse_args(["backup", "restore-ldap"]).snapshot is None


def test_created_archives_are_the_new_names_per_source():
    before = {"fs01": [{"name": "fs01-1", "time": "t1"}], "mgmt01": []}
    after = {
        "fs01": [{"name": "fs01-1", "time": "t1"}, {"name": "fs01-2", "time": "t2"}],
        "mgmt01": [{"name": "mgmt01-2", "time": "t2"}],
        "new01": [],
    }
    assert created_archives(before, after) == {
        "fs01": ["fs01-2"],
        "mgmt01": ["mgmt01-2"],
        "new01": [],
    }
