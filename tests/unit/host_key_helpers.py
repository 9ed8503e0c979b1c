"""Real host keys and real `ssh-keygen -F` lookups, for the host-key and replace-node tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

from gpucluster.host_keys import HostKey


def make_key(path: Path, kind: str = "ed25519") -> HostKey:
    """A host key pair at `path`, as a node's first boot makes one; returns its public half."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "", "-f", str(path)], check=True
    )
    kind_name, blob = path.with_suffix(".pub").read_text().split()[:2]
    return HostKey(kind_name, blob)


def found(file: Path, host: str) -> list[HostKey]:
    """What the real `ssh-keygen -F` finds for `host` in `file`."""
    completed = subprocess.run(
        ["ssh-keygen", "-F", host, "-f", str(file)], capture_output=True, text=True, check=False
    )
    return [
        HostKey(*line.split()[1:3])
        for line in completed.stdout.splitlines()
        if line and not line.startswith("#")
    ]
