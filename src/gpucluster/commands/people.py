"""`gpucluster user ...` and `gpucluster project ...`: edit the declaration, then apply it.

Users and projects are declared in the inventory (the single source of truth); these commands
are conveniences that make the same edit an operator would make by hand, validated and atomic,
and then converge only what depends on the declaration (playbooks/people.yml): LDAP entries,
project and home directories on the file server, and the login rules of every node.

`user add` and `project add` repeated with the same values after a failed or interrupted run
find the declaration in place and go straight to the run; `people apply` runs it alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from gpucluster.commands import EXIT_BAD_INPUT
from gpucluster.commands.common import (
    edit_then_run,
    exit_code,
    inventory_path,
    load_or_report,
    run_with_progress,
    with_run_options,
)
from gpucluster.inventory import UnreadableFile, read_limited_text
from gpucluster.inventory.people_edits import (
    NewProject,
    NewUser,
    add_project,
    add_user,
    project_in_place,
    set_user_locked,
    user_in_place,
    user_lock_in_place,
)
from gpucluster.runner import RunRequest

PEOPLE_PLAYBOOK = "people.yml"
MAX_KEY_FILE_BYTES = 64 * 1024
"""A public key file holds a few keys of under 1 KiB each; anything bigger is not one."""


def _request(path: Path, command: str, args: argparse.Namespace) -> RunRequest:
    request = RunRequest(
        playbook=PEOPLE_PLAYBOOK,
        inventory=path,
        command_name=command,
        catch_up=f"gpucluster people apply --limit {{hosts}} -i {path}",
    )
    return with_run_options(request, args)


def _apply(path: Path, command: str, args: argparse.Namespace) -> RunRequest | None:
    return None if args.edit_only else _request(path, command, args)


def _read_keys(files: list[str], console: Console) -> tuple[str, ...] | None:
    """The public keys in the given files (one per non-empty line), or None after an error."""
    keys: list[str] = []
    for name in files:
        try:
            text = read_limited_text(Path(name), MAX_KEY_FILE_BYTES)
        except UnreadableFile as error:
            console.print(f"[bold red]error:[/] {name}: cannot read the SSH public key: {error}")
            return None
        if "PRIVATE KEY" in text:
            console.print(f"[bold red]error:[/] {name}: this is a private key; pass the .pub file")
            return None
        keys += [line.strip() for line in text.splitlines() if line.strip()]
    return tuple(keys)


def user_add(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    keys = _read_keys(args.ssh_key or [], console)
    if keys is None:
        return EXIT_BAD_INPUT
    new = NewUser(
        name=args.name,
        projects=tuple(args.project or []),
        ssh_keys=keys,
        full_name=args.full_name,
        uid=args.uid,
        admin=args.admin,
    )
    return edit_then_run(
        console,
        lambda: add_user(path, new),
        f"declared user {args.name} in {path}",
        _apply(path, "user add", args),
        in_place=lambda: user_in_place(path, new),
    )


def _set_locked(args: argparse.Namespace, console: Console, locked: bool) -> int:
    path = inventory_path(args.inventory)
    verb = "lock" if locked else "unlock"
    return edit_then_run(
        console,
        lambda: set_user_locked(path, args.name, locked=locked),
        f"{verb}ed user {args.name} in {path}",
        _apply(path, f"user {verb}", args),
        in_place=lambda: user_lock_in_place(path, args.name, locked=locked),
    )


def user_lock(args: argparse.Namespace, console: Console) -> int:
    return _set_locked(args, console, locked=True)


def user_unlock(args: argparse.Namespace, console: Console) -> int:
    return _set_locked(args, console, locked=False)


def project_add(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    new = NewProject(name=args.name, gid=args.gid, description=args.description)
    return edit_then_run(
        console,
        lambda: add_project(path, new),
        f"declared project {args.name} in {path}",
        _apply(path, "project add", args),
        in_place=lambda: project_in_place(path, new),
    )


def apply(args: argparse.Namespace, console: Console) -> int:
    """`people apply`: converge people and projects to the declaration, no edit."""
    path = inventory_path(args.inventory)
    if load_or_report(path, console) is None:
        return EXIT_BAD_INPUT
    request = _request(path, "people apply", args)
    return exit_code(run_with_progress(console, "people apply", request))
