#!/usr/bin/env python3
"""What this host lets the common role change, and what it already has, as one JSON object.

One round trip instead of one per question: a no-change run then skips the heavy modules.
Containers lack CAP_SYS_TIME (chrony cannot run) and mount /proc/sys read-only; the host
name and every installed package are read here too (the package list lets each role skip
its apt task when nothing is missing).
"""

import json
import os
import socket
import subprocess
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


print(
    json.dumps(
        {
            "cap_sys_time": bool(bounding_capabilities() >> CAP_SYS_TIME & 1),
            "proc_sys_writable": os.access("/proc/sys/fs/file-max", os.W_OK),
            "hostname": socket.gethostname(),
            "hostname_file": hostname_file(),
            "packages": installed_packages(),
        }
    )
)
