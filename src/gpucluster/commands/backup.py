"""`gpucluster backup`: run, list and restore the cluster's backups.

The backups themselves are roles backup_server (borg repositories on the
backup host, filled by a scheduled pull) and backup_client (a read-only key
on every source). These commands drive their playbooks:

- `run`: the LDAP and MLflow dumps, then the pull, now; reports the archives
  created.
- `list`: every source's archives.
- `restore --source HOST:PATH --to HOST:PATH [--snapshot ID]`: one path of
  an archive back onto a host, through the controller.
- `restore-ldap [--snapshot ID]`: the LDAP directory back to a dump.
- `restore-mlflow [--snapshot ID]`: MLflow's databases back to their dumps
  and its artifacts to the same archive's.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gpucluster import paths
from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from gpucluster.commands.common import inventory_path, load_or_report, run_with_progress
from gpucluster.inventory import Cluster
from gpucluster.lock import LockMode
from gpucluster.run_result import RunResult
from gpucluster.runner import RunRequest
from gpucluster.untrusted import TEMPLATE_MESSAGE, template_marker

RUN_PLAYBOOK = "backup-run.yml"
LIST_PLAYBOOK = "backup-list.yml"
# The restores of a service from its dump: `backup ACTION` runs this playbook, which
# takes only the archive (--snapshot) and the controller's scratch directory.
SERVICE_RESTORES = {"restore-ldap": "ldap-restore.yml", "restore-mlflow": "mlflow-restore.yml"}
# Tasks of those playbooks whose results the output is made of (a unit test ties them).
ARCHIVES_BEFORE = "Archives before the run"
ARCHIVES_AFTER = "Archives after the run"
ARCHIVES_LISTED = "Archives per source"

_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# borg archive names as the pull script makes them (<host>-<UTC time>) and as
# an operator may type them; nothing a shell or borg would interpret.
_SNAPSHOT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]*")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class BadRequest(ValueError):
    """An argument the command cannot act on; the message says why, on one line."""


@dataclass(frozen=True)
class HostPath:
    """HOST:PATH as given on the command line, the path normalised."""

    host: str
    path: str

    def __str__(self) -> str:
        return f"{self.host}:{self.path}"


def parse_host_path(text: str, option: str) -> HostPath:
    """Split HOST:PATH; PATH must be absolute, without `..`, and not `/` itself."""
    host, separator, path = text.partition(":")
    example = f"{option} fs01:/home/alice"
    if not separator or not host or not path:
        raise BadRequest(f"{option} {text!r}: expected HOST:PATH, e.g. {example}")
    if not _HOST_NAME.fullmatch(host):
        raise BadRequest(f"{option} {text!r}: {host!r} is not a host name")
    if not path.startswith("/"):
        raise BadRequest(f"{option} {text!r}: PATH must be absolute, e.g. {example}")
    if ".." in path.split("/"):
        raise BadRequest(f"{option} {text!r}: PATH must not contain '..'")
    if _CONTROL_CHARACTERS.search(path):
        raise BadRequest(f"{option} {text!r}: PATH contains control characters")
    if template_marker(path) is not None:
        raise BadRequest(f"{option} {text!r}: PATH {TEMPLATE_MESSAGE}")
    normalised = posixpath.normpath(path)
    if normalised.startswith("//"):
        normalised = "/" + normalised.lstrip("/")
    if normalised == "/":
        raise BadRequest(f"{option} {text!r}: name a directory or file, not / itself")
    return HostPath(host=host, path=normalised)


def check_snapshot(snapshot: str | None) -> str:
    """The archive name, or '' for the newest; BadRequest for anything else."""
    if snapshot is None or snapshot == "":
        return ""
    if not _SNAPSHOT.fullmatch(snapshot):
        raise BadRequest(
            f"--snapshot {snapshot!r}: not an archive name (see `gpucluster backup list`)"
        )
    return snapshot


def check_host(cluster: Cluster, host_path: HostPath, option: str) -> None:
    """BadRequest naming the inventory file when the host is not in it."""
    try:
        cluster.node(host_path.host)
    except KeyError:
        raise BadRequest(
            f"{option} {host_path}: host {host_path.host!r} is not in the inventory "
            f"({cluster.hosts_file})"
        ) from None


def restore_extravars(
    cluster: Cluster, source: str, target: str, snapshot: str | None, workdir: Path
) -> dict[str, str]:
    """The variables of playbooks/backup-restore.yml, every argument checked first."""
    source_path = parse_host_path(source, "--source")
    target_path = parse_host_path(target, "--to")
    check_host(cluster, source_path, "--source")
    check_host(cluster, target_path, "--to")
    return {
        "backup_restore_source_host": source_path.host,
        "backup_restore_source_path": source_path.path,
        "backup_restore_target_host": target_path.host,
        "backup_restore_target_path": target_path.path,
        "backup_restore_snapshot": check_snapshot(snapshot),
        "backup_restore_workdir": str(workdir),
    }


def archives_from(result: RunResult, task: str) -> dict[str, list[dict[str, str]]]:
    """The {source: [{name, time}]} a gpucluster-backup-list task printed, if it ran."""
    for captured in result.results_of(task).values():
        stdout = str(captured.get("stdout", "")).strip()
        if stdout:
            parsed: dict[str, list[dict[str, str]]] = json.loads(stdout)
            return parsed
    return {}


def created_archives(
    before: dict[str, list[dict[str, str]]], after: dict[str, list[dict[str, str]]]
) -> dict[str, list[str]]:
    """Per source, the archive names present after the run and not before it."""
    created: dict[str, list[str]] = {}
    for source, archives in after.items():
        known = {archive["name"] for archive in before.get(source, [])}
        created[source] = [a["name"] for a in archives if a["name"] not in known]
    return created


@contextmanager
def _workdir() -> Iterator[Path]:
    """A private (0700) directory on the controller for one restore's tar, removed after."""
    base = paths.state_dir() / "restore"
    base.mkdir(mode=0o700, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="restore-", dir=base))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(args: argparse.Namespace, console: Console, path: Path) -> int:
    request = RunRequest(
        playbook=RUN_PLAYBOOK,
        inventory=path,
        command_name="backup run",
        capture_results_of=frozenset({ARCHIVES_BEFORE, ARCHIVES_AFTER}),
    )
    result = run_with_progress(console, "backup run", request)
    created = created_archives(
        archives_from(result, ARCHIVES_BEFORE), archives_from(result, ARCHIVES_AFTER)
    )
    for source, names in sorted(created.items()):
        made = ", ".join(names) if names else "[red]no new archive[/]"
        console.print(f"{escape(source)}: {made}", soft_wrap=True)
    return EXIT_OK if result.succeeded else EXIT_FAILED


def _list(args: argparse.Namespace, console: Console, path: Path) -> int:
    request = RunRequest(
        playbook=LIST_PLAYBOOK,
        inventory=path,
        command_name="backup list",
        capture_results_of=frozenset({ARCHIVES_LISTED}),
    )
    result = run_with_progress(console, "backup list", request)
    table = Table(title="archives", title_justify="left")
    for column in ("source", "archive (snapshot id)", "time"):
        table.add_column(column)
    for source, archives in sorted(archives_from(result, ARCHIVES_LISTED).items()):
        if not archives:
            table.add_row(source, "-", "-")
        for archive in archives:
            table.add_row(source, archive["name"], archive["time"])
    console.print(table)
    return EXIT_OK if result.succeeded else EXIT_FAILED


def _restore(args: argparse.Namespace, console: Console, path: Path, cluster: Cluster) -> int:
    with _workdir() as workdir:
        extravars = restore_extravars(cluster, args.source, args.to, args.snapshot, workdir)
        return _run_restore(console, path, "backup-restore.yml", "backup restore", extravars)


def _restore_service(args: argparse.Namespace, console: Console, path: Path) -> int:
    """`restore-ldap`, `restore-mlflow`: the playbook knows every path; only the archive varies."""
    with _workdir() as workdir:
        extravars: dict[str, Any] = {
            "backup_restore_snapshot": check_snapshot(args.snapshot),
            "backup_restore_workdir": str(workdir),
        }
        playbook = SERVICE_RESTORES[args.backup_action]
        return _run_restore(console, path, playbook, f"backup {args.backup_action}", extravars)


def _run_restore(
    console: Console, path: Path, playbook: str, title: str, extravars: dict[str, Any]
) -> int:
    """Run a restore playbook; the run is named after the command (`backup restore...`)."""
    request = RunRequest(playbook=playbook, inventory=path, command_name=title, extravars=extravars)
    result = run_with_progress(console, title, request)
    return EXIT_OK if result.succeeded else EXIT_FAILED


def run(args: argparse.Namespace, console: Console) -> int:
    """Dispatch `gpucluster backup ACTION`."""
    path = inventory_path(args.inventory)
    cluster = load_or_report(path, console)
    if cluster is None:
        return EXIT_BAD_INPUT
    try:
        if args.backup_action == "run":
            return _run(args, console, path)
        if args.backup_action == "list":
            return _list(args, console, path)
        if args.backup_action == "restore":
            return _restore(args, console, path, cluster)
        return _restore_service(args, console, path)
    except BadRequest as error:
        console.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        return EXIT_BAD_INPUT


def lock_policy(args: argparse.Namespace) -> LockMode | None:
    """Listing archives only reads; a run or a restore changes the nodes."""
    return LockMode.SHARED if args.backup_action == "list" else LockMode.EXCLUSIVE


def add_parser(commands: Any, add_inventory_option: Any) -> None:
    """Register `backup` and its actions on the CLI's subcommand parser."""
    parser = commands.add_parser("backup", help="run, list and restore the cluster's backups")
    actions = parser.add_subparsers(dest="backup_action", required=True, metavar="ACTION")
    p = actions.add_parser("run", help="dump LDAP and MLflow, pull every source; report archives")
    add_inventory_option(p)
    p = actions.add_parser("list", help="every source's archives (snapshot ids)")
    add_inventory_option(p)
    p = actions.add_parser("restore", help="bring a file or directory back from an archive")
    p.add_argument("--source", required=True, metavar="HOST:PATH", help="what was backed up")
    p.add_argument("--to", required=True, metavar="HOST:PATH", help="where to put it back")
    p.add_argument("--snapshot", metavar="ID", help="archive name (default: the newest)")
    add_inventory_option(p)
    p = actions.add_parser("restore-ldap", help="reload the LDAP directory from a dump")
    p.add_argument("--snapshot", metavar="ID", help="archive name (default: the newest)")
    add_inventory_option(p)
    p = actions.add_parser(
        "restore-mlflow", help="reload MLflow's databases from their dumps, and its artifacts"
    )
    p.add_argument("--snapshot", metavar="ID", help="archive name (default: the newest)")
    add_inventory_option(p)
    parser.set_defaults(handler=run, lock=lock_policy)
