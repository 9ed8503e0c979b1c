#!/usr/bin/python3
"""What a Kubernetes node has and allows, in one round trip, as one JSON object.

Both the role (tasks/probe.yml: what to adapt to, what is already in place) and
`gpucluster check` (tasks/preflight.yml: read-only answers) run this one probe,
so a kernel module or a package is judged the same way by both. Read-only.

Arguments: --modules M..., --packages P..., --ports N... (listeners to report).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path


def _run(*argv: str) -> subprocess.CompletedProcess[str] | None:
    """The finished command, or None when it cannot start (a probe never stops)."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError:
        return None


def _output(*argv: str) -> str:
    """A command's output, or "" when it is missing or fails."""
    done = _run(*argv)
    return done.stdout if done is not None and done.returncode == 0 else ""


def _module_state(module: str) -> str:
    # What counts is the function, loaded or built in: a built-in module need not show in
    # /sys/module, and /proc/modules lists neither in a container.
    if module == "overlay":
        lines = Path("/proc/filesystems").read_text(encoding="utf-8").splitlines()
        active = any(line.split()[-1] == "overlay" for line in lines if line.strip())
    elif module == "br_netfilter":
        active = Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists()
    else:
        active = Path("/sys/module", module).is_dir()
    if active:
        return "active"
    loadable = _run("modprobe", "-n", "-q", module)
    return "loadable" if loadable is not None and loadable.returncode == 0 else "missing"


def _can_load_modules() -> bool:
    """CAP_SYS_MODULE (bit 16) in the bounding set: false in a container."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("CapBnd:"):
            return bool((int(line.split()[1], 16) >> 16) & 1)
    return False


def _active_swaps() -> int:
    return max(0, len(Path("/proc/swaps").read_text(encoding="utf-8").splitlines()) - 1)


def _installed(packages: list[str]) -> dict[str, str]:
    found = {}
    for package in packages:
        status = _output("dpkg-query", "-W", "-f=${db:Status-Status} ${Version}", package)
        state, _, version = status.partition(" ")
        if state == "installed":
            found[package] = version
    return found


def _listeners(ports: list[int]) -> dict[str, str]:
    """Port -> the processes listening on it ("unknown process" when ss cannot tell)."""
    taken = {}
    for port in ports:
        lines = _output("ss", "-Hltnp", f"sport = :{port}").splitlines()
        if lines:
            users = (part.split('"')[1] for line in lines for part in line.split("((")[1:])
            taken[str(port)] = ",".join(sorted(set(users))) or "unknown process"
    return taken


def _os_release() -> dict[str, str]:
    release = {}
    for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
        key, _, value = line.strip().partition("=")
        release[key] = value.strip('"')
    return release


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modules", nargs="*", default=[])
    parser.add_argument("--packages", nargs="*", default=[])
    parser.add_argument("--ports", nargs="*", type=int, default=[])
    args = parser.parse_args()
    epoch = time.time()
    release = _os_release()
    answers = {
        "epoch": epoch,
        "can_load_modules": _can_load_modules(),
        "sysctl_writable": os.access("/proc/sys/net/ipv4/ip_forward", os.W_OK),
        "swap_active": _active_swaps(),
        "fstab": Path("/etc/fstab").is_file(),
        "modules": {module: _module_state(module) for module in args.modules},
        "installed": _installed(args.packages),
        "held": _output("apt-mark", "showhold").split(),
        "listeners": _listeners(args.ports),
        "kubeadm": shutil.which("kubeadm") or "",
        "kubelet": shutil.which("kubelet") or "",
        "containerd": shutil.which("containerd") is not None,
        "containerd_socket": Path("/run/containerd/containerd.sock").is_socket(),
        "joined": Path("/etc/kubernetes/kubelet.conf").exists(),
        "initialised": Path("/etc/kubernetes/admin.conf").exists(),
        "os_id": release.get("ID", ""),
        "os_version": release.get("VERSION_ID", ""),
        "os_codename": release.get("VERSION_CODENAME", ""),
    }
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
