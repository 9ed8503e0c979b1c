"""Is the process that wrote a record still the one running under its pid?

A lock holder or a run records its pid. A pid alone is not enough to tell later whether that
process still runs: pids are reused. The kernel's start time of the process (in clock ticks
since boot, from /proc) tells the original from a newcomer with the same number.
"""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from field 3 (the state) on, or None when unreadable."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    return stat.rpartition(")")[2].split()


def start_ticks(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot), or None when unknown or gone."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19]) if fields else None  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def is_running(pid: int, started: int | None) -> bool:
    """True when `pid` runs and, if its start time was recorded, is that same process."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    fields = _stat_fields(pid)
    if fields and fields[0] in ("Z", "X"):
        return False  # exited, not yet reaped by its parent
    if started is None:
        return True
    now = start_ticks(pid)
    return now is None or now == started


def children(pid: int) -> list[int]:
    """The running processes whose parent is `pid` (from /proc; empty where unreadable)."""
    found = []
    for entry in _PROC.glob("[0-9]*"):
        fields = _stat_fields(int(entry.name))
        if fields and len(fields) > 1 and fields[1] == str(pid) and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found
