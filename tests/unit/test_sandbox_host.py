"""The sandbox raises the machine limit that stops nodes booting, and says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpucluster.commands.verify import multiplexing_ssh_config, socket_dir
from gpucluster.sandbox.host_limits import raise_inotify_instances


@pytest.mark.skipif(os.geteuid() != 0, reason="raising a limit needs root")
def test_a_low_inotify_limit_is_raised_and_reported(tmp_path: Path):
    setting = tmp_path / "max_user_instances"
    setting.write_text("128\n")
    note = raise_inotify_instances(1024, setting)
    assert note is not None and "from 128 to 1024" in note
    assert setting.read_text().strip() == "1024"
    assert raise_inotify_instances(1024, setting) is None  # nothing left to do


def test_a_high_enough_limit_is_left_alone(tmp_path: Path):
    setting = tmp_path / "max_user_instances"
    setting.write_text("8192\n")
    assert raise_inotify_instances(1024, setting) is None
    assert setting.read_text().strip() == "8192"


def test_verify_multiplexes_ssh_and_keeps_the_operators_config(tmp_path: Path):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text("Host bastion\n  User ops\n")
    config = multiplexing_ssh_config(tmp_path / "state", home)
    text = config.read_text()
    sockets = socket_dir(tmp_path / "state")
    assert "ControlMaster auto" in text and f"ControlPath {sockets}/verify-%C" in text
    assert text.rstrip().endswith(f"Include {home}/.ssh/config")
    assert "StrictHostKeyChecking" not in text  # host keys are checked as the inventory says
    assert config.stat().st_mode & 0o077 == 0


def test_control_sockets_fit_a_unix_socket_path_however_deep_the_state_dir(tmp_path: Path):
    deep = tmp_path / ("nested-directory-" * 6) / "gpucluster-state0"
    sockets = socket_dir(deep)
    assert sockets is not None and sockets.is_dir()
    # The longest path ssh creates: the directory, the name with a 40-character %C, and
    # the 17-character suffix of its temporary name.
    assert len(f"{sockets}/verify-{'0' * 40}.{'x' * 16}") <= 107
    assert sockets.stat().st_mode & 0o077 == 0
    assert socket_dir(deep) == sockets  # the same directory every time
    text = multiplexing_ssh_config(deep).read_text()
    assert f"ControlPath {sockets}/verify-%C" in text


def test_the_export_root_is_read_from_the_roles_by_nodes_booting_at_once():
    """Nodes boot from a thread pool, and each asks where the NFS exports live (a role
    setting, rendered by Ansible, whose plugin loader fails when two threads enter it at
    once). A fresh interpreter, so that nothing is loaded or cached yet."""
    script = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from gpucluster.sandbox.nodes import _export_root\n"
        "with ThreadPoolExecutor(8) as pool:\n"
        "    print(sorted(set(pool.map(lambda _: _export_root(), range(8)))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['/srv/nfs']"
