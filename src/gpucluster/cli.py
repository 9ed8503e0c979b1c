"""The `gpucluster` command: argument parsing and dispatch, nothing else."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.markup import escape

from gpucluster import __version__
from gpucluster.commands import (
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    add_node,
    backup,
    check,
    install,
    locking,
    offline_bundle,
    people,
    remove_node,
    replace_node,
    runs,
    sandbox,
    status,
    top,
    verify,
)
from gpucluster.interrupts import RunInterrupted, Stopped, exit_code, signals_raise
from gpucluster.inventory import NODE_GROUPS
from gpucluster.lock import LockBusy

Handler = Callable[[argparse.Namespace, Console], int]


def _add_inventory_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i",
        "--inventory",
        help="inventory directory or hosts.yml (default: $GPUCLUSTER_INVENTORY, else ./inventory)",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="fail at once (exit 4) when another command holds the inventory's lock",
    )


def _add_run_options(parser: argparse.ArgumentParser, *, limit_help: str = "") -> None:
    """--limit, --check and --diff: the same three on every verb that converges nodes."""
    parser.add_argument(
        "--limit", help=limit_help or "only these hosts or groups (Ansible pattern)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="dry run: report what would change (an edit must already be in the inventory)",
    )
    parser.add_argument("--diff", action="store_true", help="show file differences")


NODE_LIMIT_HELP = "only the node and these other hosts or groups take part (Ansible pattern)"


def _add_people_commands(commands: argparse._SubParsersAction) -> None:
    """`user add|lock|unlock` and `project add`: declaration edits, then playbooks/people.yml."""
    p = commands.add_parser("user", help="declare, lock or unlock an LDAP user")
    actions = p.add_subparsers(dest="user_action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="declare a user and create it everywhere")
    add.add_argument("name", help="login name")
    add.add_argument("--project", action="append", help="project to join (repeatable)")
    add.add_argument("--ssh-key", action="append", help="public key file (repeatable)")
    add.add_argument("--full-name", help="full name (default: the login name)")
    add.add_argument("--uid", type=int, help="uid (default: the next free one)")
    add.add_argument("--admin", action="store_true", help="may log in everywhere and sudo")
    add.set_defaults(handler=people.user_add, lock=locking.exclusive)
    lock = actions.add_parser("lock", help="lock a user out everywhere (nothing is deleted)")
    lock.add_argument("name")
    lock.set_defaults(handler=people.user_lock, lock=locking.exclusive)
    unlock = actions.add_parser("unlock", help="let a locked user log in again")
    unlock.add_argument("name")
    unlock.set_defaults(handler=people.user_unlock, lock=locking.exclusive)
    for action in (add, lock, unlock):
        action.add_argument("--edit-only", action="store_true", help="only edit the inventory")
        _add_run_options(action)
        _add_inventory_option(action)

    p = commands.add_parser("project", help="declare a project (an LDAP group and directory)")
    actions = p.add_subparsers(dest="project_action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="declare a project and create it everywhere")
    add.add_argument("name", help="project name")
    add.add_argument("--gid", type=int, help="gid (default: the next free one)")
    add.add_argument("--description", help="one line about the project")
    add.add_argument("--edit-only", action="store_true", help="only edit the inventory")
    _add_run_options(add)
    _add_inventory_option(add)
    add.set_defaults(handler=people.project_add, lock=locking.exclusive)

    p = commands.add_parser("people", help="converge people and projects to the declaration")
    actions = p.add_subparsers(dest="people_action", required=True, metavar="ACTION")
    apply = actions.add_parser(
        "apply", help="run playbooks/people.yml alone (after a hand edit, or to catch nodes up)"
    )
    _add_run_options(apply)
    _add_inventory_option(apply)
    apply.set_defaults(handler=people.apply, lock=locking.exclusive)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gpucluster", description="Provision and grow an on-premises GPU cluster."
    )
    parser.add_argument("--version", action="version", version=f"gpucluster {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "check", help="validate the inventory and ask every node if it is ready"
    )
    _add_inventory_option(p)
    p.add_argument("--offline", action="store_true", help="validate the inventory only")
    p.set_defaults(handler=check.run, lock=locking.check)

    p = commands.add_parser("install", help="converge every node to the inventory")
    _add_inventory_option(p)
    _add_run_options(p)
    p.set_defaults(handler=install.run, lock=locking.install)

    p = commands.add_parser("add-node", help="add a node to the inventory and provision it")
    p.add_argument("name", help="host name of the new node")
    p.add_argument("--group", required=True, choices=NODE_GROUPS)
    p.add_argument("--address", required=True, help="management address (ansible_host)")
    p.add_argument("--storage-address", required=True, help="address on the storage network")
    p.add_argument("--storage-mac", help="MAC of the storage NIC")
    p.add_argument("--storage-interface", help="name of the storage NIC")
    p.add_argument("--edit-only", action="store_true", help="only edit the inventory")
    _add_run_options(p, limit_help=NODE_LIMIT_HELP)
    _add_inventory_option(p)
    p.set_defaults(handler=add_node.run, lock=locking.exclusive)

    p = commands.add_parser("remove-node", help="remove a node from the inventory and its peers")
    p.add_argument("name", help="host name of the node to remove")
    p.add_argument("--edit-only", action="store_true", help="only edit the inventory")
    _add_run_options(p, limit_help="only these remaining hosts or groups forget it")
    _add_inventory_option(p)
    p.set_defaults(handler=remove_node.run, lock=locking.exclusive)

    p = commands.add_parser(
        "replace-node", help="new hardware under an old name: new host key, MAC, addresses"
    )
    p.add_argument("name", help="host name of the node (it keeps its name and group)")
    p.add_argument("--address", help="new management address (default: the inventory's)")
    p.add_argument("--storage-address", help="new storage address (default: the inventory's)")
    p.add_argument("--storage-mac", help="MAC of the new storage NIC")
    p.add_argument("--storage-interface", help="name of the new storage NIC")
    p.add_argument(
        "--accept-new-host-key",
        action="store_true",
        help="trust the SSH host key the node offers now in place of the old one "
        "(compare its fingerprint with the node's console first)",
    )
    p.add_argument("--edit-only", action="store_true", help="stop after the key and the edit")
    _add_run_options(p, limit_help=NODE_LIMIT_HELP)
    _add_inventory_option(p)
    p.set_defaults(handler=replace_node.run, lock=locking.exclusive)

    p = commands.add_parser("verify", help="run the testinfra checks against the cluster")
    _add_inventory_option(p)
    p.add_argument("-k", dest="select", help="only tests matching this pytest expression")
    p.add_argument(
        "--raise-alerts",
        action="store_true",
        help="also stop one node's exporter and wait for NodeDown at a webhook on the "
        "management node (real alerts: left out by default)",
    )
    p.set_defaults(handler=verify.run, lock=locking.shared)

    p = commands.add_parser(
        "status", help="node health, the last run's and install's outcome, lagging nodes"
    )
    _add_inventory_option(p)
    p.set_defaults(handler=status.run)

    p = commands.add_parser(
        "top", help="nodes, GPUs, projects and firing alerts from Prometheus, refreshed"
    )
    _add_inventory_option(p)
    p.add_argument("--once", action="store_true", help="print one frame and exit (for scripts)")
    p.add_argument(
        "--interval", type=float, default=5.0, metavar="S", help="seconds between frames (5)"
    )
    p.set_defaults(handler=top.run)

    p = commands.add_parser("runs", help="the run history of the inventory, newest first")
    _add_inventory_option(p)
    p.add_argument("--all", action="store_true", help="also the runs of status and check")
    p.add_argument("--last", type=int, default=30, metavar="N", help="at most N runs (30)")
    p.set_defaults(handler=runs.run)

    _add_people_commands(commands)

    backup.add_parser(commands, _add_inventory_option)

    p = commands.add_parser(
        "offline-bundle", help="list the packages and images an air-gapped site must provide"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=offline_bundle.run)

    p = commands.add_parser("sandbox", help="a simulated cluster of containers on this machine")
    actions = p.add_subparsers(dest="sandbox_action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="create the sandbox nodes and their inventory")
    up.add_argument("--gpu-nodes", type=int, default=1, help="number of GPU nodes (default 1)")
    add = actions.add_parser("add", help="boot one more GPU node (then run add-node)")
    add.add_argument("name", help="gpuNN")
    replace = actions.add_parser(
        "replace", help="recreate a node as new hardware (then run replace-node)"
    )
    replace.add_argument("name", help="the node to replace, e.g. gpu01")
    actions.add_parser("status", help="list the sandbox nodes")
    actions.add_parser("down", help="remove everything the sandbox created")
    actions.add_parser("prepare", help="start the Docker engine and build the node image")
    p.set_defaults(handler=sandbox.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Logs and pipes get a wide console so tables and one-line errors stay unwrapped.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    handler: Handler = args.handler
    with signals_raise():
        try:
            with locking.command_lock(args, console, argv):
                return handler(args, console)
        except LockBusy as busy:
            console.print(
                f"[bold red]error:[/] {escape(str(busy))}: nothing done "
                "(run it again later, or without --no-wait to wait for it)",
                soft_wrap=True,
            )
            return EXIT_LOCKED
        except RunInterrupted as interrupted:
            console.print(f"interrupted: {escape(str(interrupted))}", soft_wrap=True)
            return interrupted.exit_code
        except KeyboardInterrupt:
            console.print("interrupted")
            return EXIT_INTERRUPTED
        except Stopped as stopped:
            console.print(f"stopped by {stopped}")
            return exit_code(stopped.signum)


if __name__ == "__main__":
    sys.exit(main())
