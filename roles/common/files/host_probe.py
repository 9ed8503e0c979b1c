#!/usr/bin/env python3
"""What this host lets the common role change, and what it already has, as one JSON object.

One round trip instead of one per question: a no-change run then skips the heavy modules.
Containers lack CAP_SYS_TIME (chrony cannot run) and mount /proc/sys read-only; the host
name and every installed package are read here too (the package list lets each role skip
its apt task when nothing is missing), and the restarts or reboots an earlier run left to
the roll over the GPU nodes (one file each in the directory given as the argument).
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

CAP_SYS_TIME = 25


def bounding_capabilities() -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("CapBnd:"):
            return int(line.split()[1], 16)
    return 0


def installed_packages() -> list[str]:
    listing = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return sorted(
        {
            fields[0]
            for fields in map(str.split, listing.splitlines())
            if len(fields) == 2 and fields[1] == "installed"
        }
    )


def hostname_file() -> str:
    try:
        return Path("/etc/hostname").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def roll_pending(directory: str) -> list[str]:
    try:
        return sorted(entry.name for entry in Path(directory).iterdir() if entry.is_file())
    except OSError:
        return []


def kernel_update_pending() -> bool:
    """A newer kernel is installed than the one running (it needs a reboot to take effect)."""
    if Path("/run/reboot-required").exists():
        return True
    kernels = sorted(Path("/boot").glob("vmlinuz-*"), key=lambda path: path.stat().st_mtime)
    return bool(kernels) and kernels[-1].name != f"vmlinuz-{os.uname().release}"


print(
    json.dumps(
        {
            "cap_sys_time": bool(bounding_capabilities() >> CAP_SYS_TIME & 1),
            "proc_sys_writable": os.access("/proc/sys/fs/file-max", os.W_OK),
            "hostname": socket.gethostname(),
            "hostname_file": hostname_file(),
            "packages": installed_packages(),
            "roll_pending": roll_pending(sys.argv[1]) if len(sys.argv) > 1 else [],
            "kernel_update_pending": kernel_update_pending(),
        }
    )
)
