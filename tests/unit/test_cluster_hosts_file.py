"""common's cluster_hosts_file module: the two /etc/hosts edits it makes in one pass."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "cluster_hosts_file", ROOT / "roles" / "common" / "library" / "cluster_hosts_file.py"
)
assert spec and spec.loader
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

MARKER = "# {mark} gpucluster nodes"
BLOCK = "10.0.0.1 mgmt01.c.internal mgmt01\n10.0.0.21 gpu01.c.internal gpu01\n"
# What Docker writes into a container's /etc/hosts, plus Debian's installer line.
DOCKER_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "127.0.1.1 gpu01\n"
    "172.18.0.5\tgpu01\n"
)


def edit(text: str) -> str:
    return module.edited(text, "gpu01", "10.0.0.21", BLOCK, MARKER)


def test_a_fresh_file_loses_the_wrong_addresses_and_gains_the_block():
    assert edit(DOCKER_HOSTS) == (
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "# BEGIN gpucluster nodes\n"
        "10.0.0.1 mgmt01.c.internal mgmt01\n"
        "10.0.0.21 gpu01.c.internal gpu01\n"
        "# END gpucluster nodes\n"
    )


def test_an_edited_file_is_left_as_it_is():
    once = edit(DOCKER_HOSTS)
    assert edit(once) == once


def test_the_block_is_replaced_in_place_and_lines_after_it_stay():
    old = "127.0.0.1 localhost\n# BEGIN gpucluster nodes\n10.0.0.9 old01\n# END gpucluster nodes\n"
    old += "192.0.2.7 printer\n"
    new = edit(old)
    assert new.splitlines() == [
        "127.0.0.1 localhost",
        "# BEGIN gpucluster nodes",
        "10.0.0.1 mgmt01.c.internal mgmt01",
        "10.0.0.21 gpu01.c.internal gpu01",
        "# END gpucluster nodes",
        "192.0.2.7 printer",
    ]


def test_other_names_comments_and_longer_names_are_not_touched():
    text = "10.9.9.9 gpu01-storage\n10.9.9.8 gpu011\n# 127.0.1.1 gpu01 was here\n"
    assert edit(text).splitlines()[:3] == text.splitlines()


def test_a_block_without_its_end_marker_is_rewritten_whole():
    text = "127.0.0.1 localhost\n# BEGIN gpucluster nodes\n10.0.0.9 old01\n"
    assert edit(text).count("# BEGIN gpucluster nodes") == 1
    assert edit(text).endswith("# END gpucluster nodes\n")
    assert "old01" not in edit(text)


def run_module(hosts_file: Path, *options: str) -> dict:
    """One run of the module through Ansible (local connection) on `hosts_file`."""
    arguments = (
        f"path={hosts_file} own_name=gpu01 own_address=10.0.0.21 "
        "block='10.0.0.21 gpu01.c.internal gpu01'"
    )
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local"]
    command += ["-M", str(ROOT / "roles" / "common" / "library"), *options]
    command += ["-m", "cluster_hosts_file", "-a", arguments]
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_through_ansible_check_mode_changes_nothing_and_a_second_run_is_a_no_op(tmp_path):
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text(DOCKER_HOSTS)
    hosts_file.chmod(0o600)
    checked = run_module(hosts_file, "--check")
    assert checked["changed"] is True
    assert hosts_file.read_text() == DOCKER_HOSTS
    assert hosts_file.stat().st_mode & 0o777 == 0o600
    assert run_module(hosts_file)["changed"] is True
    assert "172.18.0.5" not in hosts_file.read_text()
    assert hosts_file.stat().st_mode & 0o777 == 0o644
    assert run_module(hosts_file)["changed"] is False
    hosts_file.chmod(0o600)
    assert run_module(hosts_file, "--check")["changed"] is True  # the mode alone
    assert hosts_file.stat().st_mode & 0o777 == 0o600
