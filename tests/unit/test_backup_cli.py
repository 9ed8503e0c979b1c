"""`gpucluster backup`: argument parsing and the checks made before any playbook runs."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

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
from gpucluster.run_result import RunResult

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.parametrize("action", ["restore-ldap", "restore-mlflow"])
def test_bad_snapshot_is_refused_before_a_service_restore(inventory, no_playbooks, capsys, action):
    assert main(["backup", action, "-i", str(inventory), "--snapshot", "a b"]) == 2
    assert "--snapshot" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("action", "playbook"),
    [("restore-ldap", "ldap-restore.yml"), ("restore-mlflow", "mlflow-restore.yml")],
)
def test_a_service_restore_runs_its_playbook_with_the_archive_and_a_private_workdir(
    inventory, monkeypatch, action, playbook
):
    seen = []

    def fake_run(_console, title, request):
        workdir = Path(request.extravars["backup_restore_workdir"])
        seen.append((title, request, stat.S_IMODE(workdir.parent.stat().st_mode)))
        result = RunResult(run_dir=Path("/r"), status="successful", rc=0, elapsed_s=0.0)
        result.judge()
        return result

    monkeypatch.setattr(backup, "run_with_progress", fake_run)
    snapshot = "mgmt01-2026-01-02T03:04:05Z"
    assert main(["backup", action, "-i", str(inventory), "--snapshot", snapshot]) == 0
    [(title, request, mode)] = seen
    assert title == request.command_name == f"backup {action}"
    assert request.playbook == playbook
    assert (ROOT / "playbooks" / playbook).is_file()
    assert request.extravars["backup_restore_snapshot"] == snapshot
    assert mode == 0o700
    # The scratch directory (and any tar left in it) is gone once the command returns.
    assert not Path(request.extravars["backup_restore_workdir"]).exists()


def test_mlflow_settings_read_outside_role_mlflow_fall_back_to_its_defaults():
    """backup_client and the restore playbook do not see role mlflow's defaults (nor the
    restore backup_client's): where the inventory does not set a setting, their fallbacks
    must be those defaults, or the backup and the restore miss MLflow's data."""
    mlflow = yaml.safe_load((ROOT / "roles" / "mlflow" / "defaults" / "main.yml").read_text())
    client_defaults = (ROOT / "roles" / "backup_client" / "defaults" / "main.yml").read_text()
    client_vars = (ROOT / "roles" / "backup_client" / "vars" / "main.yml").read_text()
    client = yaml.safe_load(client_defaults)
    restore = (ROOT / "playbooks" / "mlflow-restore.yml").read_text()
    assert f"mlflow_data_dir | default('{mlflow['mlflow_data_dir']}')" in client_defaults
    assert "mlflow_artifacts_destination | default((mlflow_data_dir" in client_defaults
    for name in ("mlflow_database", "mlflow_auth_database"):
        assert f"{name} | default('{mlflow[name]}')" in client_vars
    names = ("mlflow_data_dir", "mlflow_config_dir", "mlflow_database", "mlflow_auth_database")
    for name in (*names, "mlflow_database_user"):
        assert f"{name} | default('{mlflow[name]}')" in restore
    assert mlflow["mlflow_artifacts_destination"] == "{{ mlflow_data_dir }}/artifacts"
    assert "mlflow_artifacts_destination | default(mlflow_restore_data_dir ~ '/artifacts')" in (
        restore
    )
    listen = mlflow["mlflow_listen_address"].removeprefix("{{ ").removesuffix(" }}")
    assert f"mlflow_listen_address | default({listen})" in restore
    dump_dir = client["backup_client_mlflow_dump_dir"]
    assert f"backup_client_mlflow_dump_dir | default('{dump_dir}')" in restore


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
    assert parser.parse_args(["backup", "restore-mlflow", "--snapshot", "s2"]).snapshot == "s2"


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
