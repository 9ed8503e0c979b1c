"""Kernel limits of the machine that hosts the sandbox, raised where they stop nodes booting.

Every node container runs systemd, which holds several inotify instances (journald, udev's
stand-ins, each service manager). The per-user limit `fs.inotify.max_user_instances` is shared
by all containers of the machine; at Debian's default of 128 it runs out near the 19th node,
and the next containers exit with code 255 and no log. `sandbox prepare` raises it.
"""

from __future__ import annotations

import os
from pathlib import Path

INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
WANTED_INOTIFY_INSTANCES = 1024
"""Enough for 37 nodes measured (and more): 128 allowed 19."""


def raise_inotify_instances(
    wanted: int = WANTED_INOTIFY_INSTANCES, setting: Path = INOTIFY_INSTANCES
) -> str | None:
    """Raise the limit to `wanted` when it is lower; say what was done (None: nothing to do).

    Without root the limit is left alone and the message says how to raise it.
    """
    try:
        current = int(setting.read_text().strip())
    except (OSError, ValueError):
        return None
    if current >= wanted:
        return None
    name = "fs.inotify.max_user_instances"
    if os.geteuid() != 0:
        return (
            f"{name} is {current}: only about {current * 19 // 128} sandbox nodes can boot; "
            f"run `sysctl -w {name}={wanted}` as root"
        )
    try:
        setting.write_text(f"{wanted}\n")
    except OSError as error:
        return f"{name} is {current} and could not be raised: {error.strerror}"
    return (
        f"raised {name} from {current} to {wanted} (each node container's systemd needs "
        "several; the old limit stops nodes past the 19th from booting)"
    )
