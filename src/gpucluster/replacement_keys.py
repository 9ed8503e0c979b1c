"""replace-node's host-key step: show the key the node offers, then keep, refuse or replace.

The decision is the operator's, and it is made on a fingerprint they can check on the node's
console: the key is always printed before anything is trusted, a key that is not trusted yet
stops the command unless --accept-new-host-key was given, and a key that is trusted already
(a repeat, or a node whose disks kept their keys) needs no flag at all.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from ipaddress import IPv4Address
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from gpucluster.host_keys import (
    HostKey,
    Verdict,
    fingerprints,
    judge,
    replace_trusted,
    trusted,
)
from gpucluster.ssh_settings import SshView

CONSOLE_HINT = "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"
"""What the operator runs on the node's console to read the fingerprint to compare."""


class KeyDecision(enum.Enum):
    KEPT = "kept"
    """The offered key was trusted already."""
    REPLACED = "replaced"
    """The offered key is trusted now, in place of the old one (--accept-new-host-key)."""
    REFUSED = "refused"
    """Not trusted, and no flag: nothing was changed."""


def old_lookup(view: SshView, old_address: IPv4Address) -> str | None:
    """The name the node's key was filed under at its old address, when that differs."""
    old = str(old_address)
    if old == view.address or view.lookup not in (view.address, f"[{view.address}]:{view.port}"):
        return None  # same address, or a HostKeyAlias (which does not follow addresses)
    return old if view.port == 22 else f"[{old}]:{view.port}"


def decide_host_key(
    console: Console,
    name: str,
    view: SshView,
    offered: Sequence[HostKey],
    *,
    accept: bool,
    old_address: IPv4Address,
) -> KeyDecision:
    """Print the keys the node offers (host_keys.scan), then keep, refuse or replace the
    trusted ones. Raises HostKeyError when a known_hosts file cannot be read or written.
    """
    console.print(f"host key of {escape(name)} at {escape(view.lookup)} now (ssh-keyscan):")
    for line in fingerprints(name, offered, view.lookup):
        console.print(f"  {escape(line)}", soft_wrap=True, highlight=False)
    listed = trusted(name, view)
    files = ", ".join(str(file) for file in listed) or ", ".join(
        str(file) for file in (*view.user_files, *view.global_files)
    )
    verdict = judge((key for keys in listed.values() for key in keys), offered)
    if verdict is Verdict.UNCHANGED:
        console.print(f"{escape(name)}: this host key is trusted already ({escape(files)})")
        return KeyDecision.KEPT
    if not accept:
        _refuse(console, name, view, verdict, listed, files)
        return KeyDecision.REFUSED
    console.print(f"{escape(name)}: trusting the new host key (--accept-new-host-key)")
    old = old_lookup(view, old_address)
    notes = replace_trusted(name, view, offered, also=[name], drop=[old] if old else [])
    for note in notes:
        console.print(f"  {escape(note)}", soft_wrap=True, highlight=False)
    return KeyDecision.REPLACED


def _refuse(
    console: Console,
    name: str,
    view: SshView,
    verdict: Verdict,
    listed: dict[Path, list[HostKey]],
    files: str,
) -> None:
    if verdict is Verdict.CHANGED:
        console.print(f"trusted for {escape(view.lookup)} now (the old machine's):")
        for keys in listed.values():
            for line in fingerprints(name, keys, view.lookup):
                console.print(f"  {escape(line)}", soft_wrap=True, highlight=False)
        why = f"the host key {view.lookup} offers is not the one trusted in {files}"
    else:
        why = f"no host key of {view.lookup} is trusted in {files}"
    console.print(
        f"[bold red]error:[/] host {escape(name)}: {escape(why)}: compare the fingerprint "
        f"above with the one on {escape(name)}'s console ({CONSOLE_HINT}), then repeat the "
        "command with --accept-new-host-key; nothing changed",
        soft_wrap=True,
    )
