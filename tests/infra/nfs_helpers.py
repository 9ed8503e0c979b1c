"""NFS requests made at the protocol level, for the NFS test modules.

The testinfra modules of nfs_server and nfs_client (and the nfs scenario's
Molecule-only tests) read what the roles serve and mount from the roles'
settings for the inventory in use (`inventory.settings()`, tests/infra/plugin.py),
so an operator's override (another export root, other modes) is what gets
checked, never one scenario's values; this module asks the server.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Access:
    """One NFS request made with the user-space client (libnfs-utils)."""

    rc: int
    output: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


def nfs_url(server: str, path: str, uid: int, gid: int) -> str:
    return f"nfs://{server}{path}?version=4&uid={uid}&gid={gid}"


def nfs(host: Any, tool: str, *args: str, grace_wait: float = 120.0) -> Access:
    """Run nfs-ls / nfs-cat / nfs-cp on `host` (no kernel NFS client needed).

    A server restarted while clients held state is in its grace period (up
    to 90 s) and refuses new opens with NFS4ERR_GRACE; kernel clients wait
    and retry, so this does too."""
    deadline = time.monotonic() + grace_wait
    while True:
        result = host.run(" ".join([tool, *(shlex.quote(arg) for arg in args)]))
        output = result.stdout + result.stderr
        if "NFS4ERR_GRACE" not in output or time.monotonic() > deadline:
            return Access(result.rc, output)
        time.sleep(5)
