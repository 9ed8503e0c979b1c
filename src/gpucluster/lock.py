"""One lock per inventory, so an edit and the run that follows it never interleave with another.

Two operators adding nodes at once would otherwise lose an edit (or be told "changed by someone
else"), and two installs would converge the same nodes at once. The lock is `flock` on a file
in the inventory's state directory: the kernel releases it when its holder exits, however it
exits (SIGKILL included), so a dead command never leaves a stale lock behind.

Commands that change the cluster hold it exclusively; commands that only look (verify, a dry
run, a backup listing) share it with each other. Each holder writes who it is (command line,
pid, since when) to `holders/<pid>.json` beside the lock, so a command that has to wait can
say for whom.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from gpucluster import paths
from gpucluster.processes import is_running, start_ticks

LOCK_FILE = "lock"
HOLDERS_DIR = "holders"
POLL_S = 0.2


class LockMode(StrEnum):
    SHARED = "shared"
    EXCLUSIVE = "exclusive"


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) the lock, as written after acquiring it."""

    pid: int
    command: str
    since: str  # ISO 8601, local time with offset
    mode: str
    started: int | None = None  # the process's start time, to tell a reused pid apart

    def describe(self) -> str:
        since = self.since.replace("T", " ").partition(".")[0]  # written in local time
        return f"{self.command} (pid {self.pid}, {self.mode}, since {since})"


class LockBusy(Exception):
    """The lock is held by someone else and the caller chose not to wait (--no-wait)."""

    def __init__(self, inventory: Path, holders: list[Holder]) -> None:
        self.inventory = inventory
        self.holders = holders
        super().__init__(f"inventory {inventory} is locked by {describe_holders(holders)}")


def describe_holders(holders: list[Holder]) -> str:
    """One line naming every holder, or what is known when none has said who it is yet."""
    if not holders:
        return "another gpucluster command (it has not recorded who it is yet)"
    return "; ".join(holder.describe() for holder in holders)


def current_holders(inventory: Path) -> list[Holder]:
    """The live holders recorded for this inventory's lock, oldest first."""
    holders = []
    for record in sorted((paths.inventory_state_dir(inventory) / HOLDERS_DIR).glob("*.json")):
        holder = _read_holder(record)
        if holder is not None and is_running(holder.pid, holder.started):
            holders.append(holder)
    return sorted(holders, key=lambda holder: holder.since)


def _read_holder(record: Path) -> Holder | None:
    try:
        data = json.loads(record.read_text())
        return Holder(**data)
    except (OSError, ValueError, TypeError):
        return None  # half-written or foreign: ignored


def _write_holder(state: Path, mode: LockMode, command: str) -> Path:
    """Record this process as a holder; stale records of dead holders are removed."""
    directory = state / HOLDERS_DIR
    directory.mkdir(mode=0o700, exist_ok=True)
    for record in directory.glob("*.json"):
        holder = _read_holder(record)
        if holder is None or not is_running(holder.pid, holder.started):
            record.unlink(missing_ok=True)
    pid = os.getpid()
    holder = Holder(
        pid=pid,
        command=command,
        since=datetime.now().astimezone().isoformat(),
        mode=str(mode),
        started=start_ticks(pid),
    )
    record = directory / f"{pid}.json"
    temporary = directory / f".{pid}.json.tmp"
    temporary.write_text(json.dumps(asdict(holder)) + "\n")
    temporary.replace(record)
    return record


@contextlib.contextmanager
def inventory_lock(
    inventory: Path,
    mode: LockMode,
    command: str,
    *,
    wait: bool = True,
    on_wait: Callable[[list[Holder]], None] | None = None,
) -> Iterator[None]:
    """Hold the inventory's lock for the duration of the `with` block.

    When it is taken, LockBusy is raised at once if `wait` is False; otherwise `on_wait` is
    called with the holders (again whenever they change) until the lock is free.
    """
    state = paths.inventory_state_dir(inventory)
    descriptor = os.open(state / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        operation = fcntl.LOCK_SH if mode is LockMode.SHARED else fcntl.LOCK_EX
        announced: list[Holder] | None = None
        while True:
            try:
                fcntl.flock(descriptor, operation | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holders = current_holders(inventory)
                if not wait:
                    raise LockBusy(inventory, holders) from None
                if on_wait is not None and holders != announced:
                    on_wait(holders)
                    announced = holders
                time.sleep(POLL_S)
        record = _write_holder(state, mode, command)
        try:
            yield
        finally:
            record.unlink(missing_ok=True)
    finally:
        os.close(descriptor)  # releases the lock
