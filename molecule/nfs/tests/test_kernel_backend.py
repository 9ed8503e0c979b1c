"""Molecule-only: on a kernel without nfsd (this machine's), the kernel
backend stops at once with one line naming the host, and changes nothing:
no package, no exports file, the running Ganesha server untouched."""

from __future__ import annotations

import re

import pytest

from tests.playbook_helpers import run_role

testinfra_hosts = ["ansible://fileserver"]

# The role's own test: nfsd loaded, its filesystem mounted, or a module to load.
HAS_NFSD = (
    "grep -qw nfsd /proc/filesystems || test -e /proc/fs/nfsd/exports "
    "|| modprobe --dry-run --quiet nfsd"
)

WATCHED = [
    "/etc/exports.d/gpucluster.exports",
    "/etc/nfs.conf.d/gpucluster.conf",
    "/etc/ganesha/ganesha.conf",
]


def _state(host) -> dict:
    return {
        "files": {
            path: host.file(path).sha256sum if host.file(path).exists else None for path in WATCHED
        },
        "nfs-kernel-server": host.package("nfs-kernel-server").is_installed,
        "ganesha": host.check_output("systemctl show -p MainPID --value nfs-ganesha"),
    }


def test_kernel_backend_fails_early_without_nfsd(host, inventory, tmp_path):
    if host.run(HAS_NFSD).rc == 0:
        pytest.skip("not executed here: this kernel has nfsd")
    kernel = host.check_output("uname -r")
    before = _state(host)
    rc, output = run_role(tmp_path, inventory.name, "nfs_server", "-e", "nfs_server_backend=kernel")
    assert rc != 0, output
    assert f"{inventory.name}: kernel {kernel} has no NFS server" in output, output
    assert "nothing was changed" in output
    assert re.search(rf"{re.escape(inventory.name)}\s*:\s*ok=\d+\s+changed=0\s", output), output
    assert _state(host) == before
