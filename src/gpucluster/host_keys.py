"""A node's SSH host key: the one it offers now, the ones trusted, and trusting a new one.

New hardware under an old name offers a new host key, and ssh (so Ansible) refuses it until
the old one is gone from known_hosts. Trusting a key is the one step here that decides who the
cluster's secrets go to, so it is never silent: the key the node offers is fetched
(ssh-keyscan), shown as ssh-keygen shows it (SHA256 fingerprint) for the operator to compare
with the node's console, and only replaces the trusted one when they say so. The files are
read and edited with ssh-keygen itself (-F, -R), which knows hashed names and markers; the new
lines are written the way ssh would write them (hashed when HashKnownHosts says so).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gpucluster.ssh_settings import SshView

SCAN_TIMEOUT_S = 10
TOOL_TIMEOUT_S = 60


class HostKeyError(RuntimeError):
    """A host key could not be fetched, read or written; the message names host and file."""


class NodeSilent(HostKeyError):
    """The node offered no host key: it is down, or nothing listens where ssh would connect."""


@dataclass(frozen=True, order=True)
class HostKey:
    """One public host key: its algorithm and its base64 blob (what known_hosts compares)."""

    kind: str
    blob: str

    def line(self, host: str) -> str:
        return f"{host} {self.kind} {self.blob}\n"


class Verdict(enum.Enum):
    """What the key the node offers means against what is trusted."""

    UNCHANGED = "unchanged"
    """A key the node offers is trusted already: ssh will accept the node as it is."""
    CHANGED = "changed"
    """Keys are trusted for the node, none of them is one it offers: ssh refuses it."""
    UNKNOWN = "unknown"
    """No key is trusted for the node at all: ssh refuses it (StrictHostKeyChecking)."""


def judge(trusted: Iterable[HostKey], offered: Iterable[HostKey]) -> Verdict:
    """ssh accepts a host when any key it offers is listed for it: the same rule here."""
    trusted = set(trusted)
    if trusted & set(offered):
        return Verdict.UNCHANGED
    return Verdict.CHANGED if trusted else Verdict.UNKNOWN


def _parse_key_lines(text: str) -> list[HostKey]:
    """The plain keys in known_hosts-format lines (`@cert-authority`/`@revoked` lines and
    comments are no plain trust, and are left out)."""
    keys = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or words[0].startswith(("#", "@")):
            continue
        keys.append(HostKey(words[1], words[2]))
    return keys


def scan(name: str, view: SshView) -> list[HostKey]:
    """The host keys the node at view.address offers now (every type it has), sorted.

    HostKeyError when nothing answers: the node is down, sshd is not running, or a firewall or
    jump host is in the way (ssh-keyscan reaches the node directly).
    """
    command = ["ssh-keyscan", "-T", str(SCAN_TIMEOUT_S), "-p", str(view.port), view.address]
    completed = _tool(name, command, check=False, timeout=SCAN_TIMEOUT_S * 4)
    keys = sorted(set(_parse_key_lines(completed.stdout)))
    if not keys:
        raise NodeSilent(
            f"host {name}: no SSH host key from {view.address} port {view.port} within "
            f"{SCAN_TIMEOUT_S}s (ssh-keyscan): is the node up with sshd running?"
        )
    return keys


def trusted(name: str, view: SshView) -> dict[Path, list[HostKey]]:
    """The plain keys listed for view.lookup, per known_hosts file that lists any (ssh's
    user files, then its global ones)."""
    found: dict[Path, list[HostKey]] = {}
    for file in (*view.user_files, *view.global_files):
        if not file.is_file():
            continue
        command = ["ssh-keygen", "-F", view.lookup, "-f", str(file)]
        completed = _tool(name, command, check=False)
        keys = _parse_key_lines(completed.stdout) if completed.returncode == 0 else []
        if keys:
            found[file] = keys
    return found


def fingerprints(name: str, keys: Sequence[HostKey], label: str) -> list[str]:
    """One line per key as `ssh-keygen -lf` prints it: bits, SHA256:..., label, (TYPE)."""
    text = "".join(key.line(label) for key in keys)
    completed = _tool(name, ["ssh-keygen", "-l", "-E", "sha256", "-f", "-"], stdin=text)
    return [line for line in completed.stdout.splitlines() if line.strip()]


def replace_trusted(
    name: str,
    view: SshView,
    offered: Sequence[HostKey],
    *,
    also: Sequence[str] = (),
    drop: Sequence[str] = (),
) -> list[str]:
    """Trust `offered` for view.lookup in place of whatever was trusted; return what was done.

    Every line for view.lookup, for each name in `also` (the node's name) and for each name in
    `drop` (its old address) goes from every user known_hosts file (ssh-keygen -R); FILE.old
    keeps the file as it was before. The offered keys are then added to the first user file
    for view.lookup, and for each name of `also` that had lines. The global files are not
    edited: a key listed there no longer matches and is no trust. The result is read back:
    HostKeyError unless ssh now finds the offered keys.
    """
    if not view.user_files:
        raise HostKeyError(
            f"host {name}: ssh has no user known_hosts file (UserKnownHostsFile none): "
            "there is nowhere to trust the new host key"
        )
    done: list[str] = []
    names = list(dict.fromkeys([view.lookup, *also, *drop]))
    keep_for = [view.lookup]
    for file in view.user_files:
        if not file.is_file():
            continue
        original = file.read_bytes()
        removed = []
        for host in names:
            listed = _tool(name, ["ssh-keygen", "-F", host, "-f", str(file)], check=False)
            if listed.returncode != 0 or not listed.stdout.strip():
                continue
            _tool(name, ["ssh-keygen", "-R", host, "-f", str(file)])
            removed.append(host)
            if host in also and host not in keep_for:
                keep_for.append(host)
        if removed:
            # ssh-keygen -R keeps the file before its own removal only: keep the original.
            Path(f"{file}.old").write_bytes(original)
            done.append(f"removed the keys of {', '.join(removed)} from {file} (was: {file}.old)")
    target = view.user_files[0]
    lines = [
        key.line(_hashed(host) if view.hash_names else host) for host in keep_for for key in offered
    ]
    _append(name, target, "".join(lines))
    done.append(f"added {len(offered)} key(s) for {', '.join(keep_for)} to {target}")
    now = {key for keys in trusted(name, view).values() for key in keys}
    if not now & set(offered):
        raise HostKeyError(f"host {name}: {target}: ssh-keygen -F does not find the added key")
    return done


def _hashed(host: str) -> str:
    """`|1|salt|hash`: a name as ssh hashes it (HMAC-SHA1 of the name, keyed by the salt)."""
    salt = os.urandom(20)
    digest = hmac.new(salt, host.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def _append(name: str, file: Path, text: str) -> None:
    """Add lines to a known_hosts file (made 0600, in a 0700 directory, when it is new)."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        existing = file.read_bytes() if file.exists() else b""
        descriptor = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "a") as handle:
            if existing and not existing.endswith(b"\n"):
                handle.write("\n")
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise HostKeyError(f"host {name}: {file}: cannot add the new host key: {error}") from None


def _tool(
    name: str,
    command: list[str],
    *,
    check: bool = True,
    stdin: str | None = None,
    timeout: float = TOOL_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """Run an OpenSSH tool (argv, never a shell); HostKeyError naming host and command."""
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise HostKeyError(f"host {name}: {command[0]} did not run: {error}") from None
    if check and completed.returncode != 0:
        reason = " ".join(completed.stderr.split())
        raise HostKeyError(f"host {name}: {' '.join(command)} failed: {reason}")
    return completed
