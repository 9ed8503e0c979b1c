"""`gpucluster verify`: the testinfra suite that Molecule runs, against a real cluster."""

from __future__ import annotations

import argparse
import hashlib
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from gpucluster import paths
from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from gpucluster.commands.common import inventory_path, load_or_report
from gpucluster.installed_roles import role_tests_not_installed
from gpucluster.runner import ansible_environment

VERIFY_WORKERS = 4
SOCKET_NAME = "verify-%C"  # %C: a 40-character hash of the connection
_SOCKET_PATH_MAX = 107 - 17
"""A Unix socket path holds 107 characters on Linux, and ssh adds a 17-character suffix
to the path while it creates the socket."""


def socket_dir(state_dir: Path) -> Path | None:
    """A private directory for the control sockets whose paths fit, or None.

    The state dir's own cp/ when its path is short enough; else a directory in the system's
    temporary directory named after the state dir, made 0700 and refused (None) unless it is
    a real directory of this user that nobody else can enter.
    """
    preferred = state_dir / "cp"
    if len(f"{preferred}/{SOCKET_NAME}") - 2 + 40 <= _SOCKET_PATH_MAX:
        preferred.mkdir(mode=0o700, parents=True, exist_ok=True)
        return preferred
    digest = hashlib.sha256(str(state_dir).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"gpucluster-{os.getuid()}-{digest}"
    try:
        short.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(short)
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
    return short if private and not info.st_mode & 0o077 else None


def multiplexing_ssh_config(state_dir: Path, home: Path | None = None) -> Path:
    """An ssh_config that makes testinfra's SSH backend reuse one connection per node.

    testinfra runs every command of every test as its own `ssh` call; without a control
    socket each pays a full handshake. Host keys are still checked: the inventory's own SSH
    options (known_hosts, StrictHostKeyChecking) are passed on every call. The operator's
    ~/.ssh/config still applies (jump hosts, users) after these lines.
    """
    sockets = socket_dir(state_dir)
    lines = ["# Written by `gpucluster verify`: one SSH connection per node for all its tests."]
    if sockets is not None:
        lines += [
            "Host *",
            "  ControlMaster auto",
            f"  ControlPath {sockets}/{SOCKET_NAME}",
            "  ControlPersist 120s",
        ]
    user_config = (home or Path.home()) / ".ssh" / "config"
    if user_config.is_file():
        lines += ["Match all", f"  Include {user_config}"]
    state_dir.mkdir(parents=True, exist_ok=True)
    config = state_dir / "verify-ssh_config"
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    return config


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    if load_or_report(path, console) is None:
        return EXIT_BAD_INPUT
    root = paths.project_root()
    not_installed = role_tests_not_installed(root)
    for directory in not_installed:
        console.print(
            f"verify: not executed: {directory.relative_to(root)} (role {directory.name} is not"
            " in playbooks/site.yml yet: the install does not run it)",
            highlight=False,
        )
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(root / "tests" / "infra"),
        *(f"--ignore={directory}" for directory in not_installed),
        "--connection=ansible",
        f"--ansible-inventory={path.resolve()}",
        f"--ssh-config={multiplexing_ssh_config(paths.state_dir())}",
        "-p",
        "no:cacheprovider",
        # The `inventory` fixture the test modules share (tests/infra/plugin.py).
        "-p",
        "tests.infra.plugin",
        # Test modules run four at a time, each module's tests in order on one worker: the
        # tests mostly wait on the nodes, and a module's tests may build on each other.
        "-n",
        str(VERIFY_WORKERS),
        "--dist",
        "loadfile",
        "-rs",
        "-q",
        *(["-k", args.select] if args.select else []),
        # A test that stops an exporter to see NodeDown reach the webhook pages whoever
        # receives the alerts: only when asked.
        *([] if args.raise_alerts else ["-m", "not raises_alerts"]),
    ]
    console.print(f"verify: {' '.join(command)}", highlight=False)
    completed = subprocess.run(command, env=ansible_environment(path), check=False)
    return EXIT_OK if completed.returncode == 0 else EXIT_FAILED
