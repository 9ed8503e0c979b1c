"""Which lock each command takes on its inventory, taken once around the whole command.

The lock covers an edit and the run that follows it, so it is taken by the CLI's dispatcher,
not by each step. Commands that change nodes or the inventory take it exclusively; commands
that only look take it shared, so they run beside each other but never beside a change.
`status`, `runs`, `check --offline` and the sandbox take none: they read records and files
that are only ever replaced whole, and `status` should answer during a long install.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence

from rich.console import Console
from rich.markup import escape

from gpucluster.commands.common import inventory_path
from gpucluster.lock import Holder, LockMode, describe_holders, inventory_lock

LockPolicy = Callable[[argparse.Namespace], LockMode | None]


def exclusive(_: argparse.Namespace) -> LockMode | None:
    return LockMode.EXCLUSIVE


def shared(_: argparse.Namespace) -> LockMode | None:
    return LockMode.SHARED


def install(args: argparse.Namespace) -> LockMode | None:
    """A dry run (--check) changes nothing: it may run beside other dry runs and verify."""
    return LockMode.SHARED if args.check else LockMode.EXCLUSIVE


def check(args: argparse.Namespace) -> LockMode | None:
    """`check --offline` reads files only; the node probes wait for a change to finish."""
    return None if args.offline else LockMode.SHARED


def command_line(argv: Sequence[str] | None) -> str:
    """The command as the operator typed it, for the lock's holder record."""
    words = list(sys.argv[1:] if argv is None else argv)
    return shlex.join(["gpucluster", *words])


@contextlib.contextmanager
def command_lock(
    args: argparse.Namespace, console: Console, argv: Sequence[str] | None
) -> Iterator[None]:
    """Hold the lock the command's policy asks for (none when it has no policy).

    Raises LockBusy when the lock is taken and --no-wait was given.
    """
    policy: LockPolicy | None = getattr(args, "lock", None)
    mode = policy(args) if policy is not None else None
    if mode is None:
        yield
        return
    path = inventory_path(args.inventory)

    def waiting(holders: list[Holder]) -> None:
        console.print(
            f"waiting for the lock on {escape(str(path))}: held by "
            f"{escape(describe_holders(holders))} (Ctrl-C to give up)",
            soft_wrap=True,
        )

    with inventory_lock(
        path, mode, command_line(argv), wait=not getattr(args, "no_wait", False), on_wait=waiting
    ):
        yield
