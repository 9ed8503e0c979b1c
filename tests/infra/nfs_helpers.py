"""What the NFS roles serve and mount, as the inventory in use declares it.

The testinfra modules of nfs_server and nfs_client (and the nfs scenario's
Molecule-only tests) read their expectations here: each role's defaults
overlaid with the host's inventory variables and rendered by Ansible's own
templating, so an operator's override (another export root, other modes)
is what gets checked, never one scenario's values.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gpucluster.offline_bundle import render

ROLES = Path(__file__).resolve().parents[2] / "roles"


def role_settings(role: str, host_vars: dict[str, Any]) -> dict[str, Any]:
    """A role's defaults (and vars) as Ansible would resolve them for a host."""
    variables: dict[str, Any] = {}
    for part in ("defaults", "vars"):
        path = ROLES / role / part / "main.yml"
        if path.exists():
            variables.update(yaml.safe_load(path.read_text()) or {})
    variables.update(host_vars)
    renderer = render(variables)
    return {name: renderer.template(variables[name]) for name in variables if name.startswith(role)}


def fileserver_of(host: Any) -> str:
    """The file server the clients mount (the first of group fileserver)."""
    servers = sorted(host.backend.ansible_runner.get_hosts("fileserver"))
    assert servers, "the inventory has no fileserver host"
    return servers[0]


def other_host(host: Any, name: str) -> Any:
    """A testinfra host for another inventory host, over the same connection."""
    return host.get_host(f"ansible://{name}", ansible_inventory=host.backend.ansible_inventory)


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
