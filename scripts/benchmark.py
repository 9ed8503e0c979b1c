#!/usr/bin/env python3
"""Time what the operator waits for on the sandbox, each figure beside its floor.

One run, one sandbox (4 service nodes + N GPU nodes), every figure from the same sitting:

- floor: one bare fact-gathering round (`ansible all -m setup`) on the same hosts;
- fresh install, and its package floor: the packages the install added to each node,
  installed on fresh containers of the node image in one apt transaction per node, all nodes
  in parallel (the lists are read from what the roles installed, never typed here);
- no-change re-run (must change nothing), as a ratio to the setup floor;
- `gpucluster verify`, as a ratio to the no-change re-run;
- add-node of one more GPU node; with `--scale N`, add-node again once N GPU nodes are
  present (booted bare, as an operator's new racks would be), as a ratio to the first.

The last lines printed are the figures and ratios; they also go to a JSON file.
Usage: .venv/bin/python scripts/benchmark.py [--gpu-nodes 2] [--scale 32] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gpucluster.run_result import summary_named_in
from gpucluster.runner import ansible_environment
from gpucluster.sandbox.image import NODE_IMAGE
from gpucluster.sandbox.layout import gpu_node

ROOT = Path(__file__).resolve().parents[1]
CONTAINER_PREFIX = "gpucluster-"
FLOOR_PREFIX = "gpucluster-floor-"
# How the node containers boot systemd without --privileged (as the sandbox does).
NODE_FLAGS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
    "--security-opt", "seccomp=unconfined", "--cgroupns=host",
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
]  # fmt: skip


def gpucluster(state: Path, *args: str, check: bool = True) -> tuple[float, dict | None]:
    """Run one CLI command; return its wall time and the run's summary.json if any."""
    env = dict(os.environ, GPUCLUSTER_STATE_DIR=str(state), COLUMNS="160")
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "gpucluster.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    if check and completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit(f"gpucluster {' '.join(args)} failed with {completed.returncode}")
    return elapsed, summary_named_in(completed.stdout)


def setup_floor(state: Path, inventory: Path) -> float:
    """One bare `ansible all -m setup` round, with the settings every gpucluster run uses.

    A first round warms the SSH control sockets, as the install before it has for a re-run.
    """
    os.environ["GPUCLUSTER_STATE_DIR"] = str(state)
    env = ansible_environment(inventory)
    command = [str(Path(sys.executable).parent / "ansible"), "all", "-i", str(inventory)]
    command += ["-m", "ansible.builtin.setup", "-o"]
    elapsed = 0.0
    for _ in range(2):
        started = time.monotonic()
        subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=True)
        elapsed = time.monotonic() - started
    return elapsed


def _docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=check)
    return done.stdout


def _manual_packages(container: str) -> set[str]:
    return set(_docker("exec", container, "apt-mark", "showmanual").split())


def installed_by_roles(nodes: list[str]) -> dict[str, list[str]]:
    """Per node, the packages the install added (apt marks what the roles asked for manual)."""
    probe = f"{FLOOR_PREFIX}probe"
    _docker("rm", "-f", probe, check=False)
    _docker("run", "-d", "--name", probe, *NODE_FLAGS, NODE_IMAGE, "/sbin/init")
    try:
        base = _manual_packages(probe)
    finally:
        _docker("rm", "-f", probe, check=False)
    return {node: sorted(_manual_packages(CONTAINER_PREFIX + node) - base) for node in nodes}


def package_floor(packages: dict[str, list[str]]) -> float:
    """Fresh node containers, each installing its node's package set in one apt transaction,
    all in parallel: what the install's package work costs at the least."""

    def one(node: str) -> None:
        name = f"{FLOOR_PREFIX}{node}"
        _docker("rm", "-f", name, check=False)
        _docker("run", "-d", "--name", name, *NODE_FLAGS, NODE_IMAGE, "/sbin/init")
        script = (
            "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && "
            "apt-get install -y -qq --no-install-recommends " + " ".join(packages[node])
        )
        _docker("exec", name, "sh", "-c", script)

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=len(packages)) as pool:
            list(pool.map(one, packages))
        return time.monotonic() - started
    finally:
        for node in packages:
            _docker("rm", "-f", f"{FLOOR_PREFIX}{node}", check=False)


def _storage_mac(name: str) -> str:
    template = '{{ (index .NetworkSettings.Networks "gpucluster-storage").MacAddress }}'
    return _docker("inspect", "-f", template, CONTAINER_PREFIX + name).strip()


def add_gpu_node(state: Path, inventory: Path, number: int, *extra: str) -> float:
    """Boot gpuNN in the sandbox, then `gpucluster add-node` it (the full site playbook on
    it, /etc/hosts on the others); the add-node's wall time."""
    node = gpu_node(f"gpu{number:02d}")
    gpucluster(state, "sandbox", "add", node.name)
    elapsed, _ = gpucluster(
        state, "add-node", node.name, "--group", "gpu", "--address", str(node.address),
        "--storage-address", str(node.storage_address), "--storage-mac",
        _storage_mac(node.name), *extra, "-i", str(inventory),
    )  # fmt: skip
    return elapsed


def boot_bare_gpu_nodes(state: Path, inventory: Path, first: int, last: int) -> None:
    """Boot GPU nodes and declare them only (--edit-only): present, as new racks would be."""
    for number in range(first, last + 1):
        add_gpu_node(state, inventory, number, "--edit-only")


def measure(gpu_nodes: int, scale: int | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gpucluster-bench-") as tmp:
        state = Path(tmp)
        gpucluster(state, "sandbox", "down", check=False)
        try:
            gpucluster(state, "sandbox", "up", "--gpu-nodes", str(gpu_nodes))
            inventory = state / "sandbox" / "inventory"
            nodes = ["login01", "mgmt01", "fs01", "backup01"]
            nodes += [f"gpu{n:02d}" for n in range(1, gpu_nodes + 1)]
            row: dict[str, Any] = {"gpu_nodes": gpu_nodes, "nodes": len(nodes)}
            row["setup_floor_s"] = setup_floor(state, inventory)
            row["fresh_install_s"], _ = gpucluster(state, "install", "-i", str(inventory))
            row["no_change_rerun_s"], rerun = gpucluster(state, "install", "-i", str(inventory))
            assert rerun is not None and rerun["changed_total"] == 0, "the re-run changed things"
            row["verify_s"], _ = gpucluster(state, "verify", "-i", str(inventory))
            packages = installed_by_roles(nodes)
            row["packages_per_node"] = {node: len(names) for node, names in packages.items()}
            row["package_floor_s"] = package_floor(packages)
            row["add_node_s"] = add_gpu_node(state, inventory, gpu_nodes + 1)
            if scale is not None and scale > gpu_nodes + 1:
                boot_bare_gpu_nodes(state, inventory, gpu_nodes + 2, scale)
                row["add_node_at_scale_s"] = add_gpu_node(state, inventory, scale + 1)
                row["scale_gpu_nodes"] = scale
            return row
        finally:
            gpucluster(state, "sandbox", "down", check=False)


def ratios(row: dict[str, Any]) -> dict[str, float]:
    result = {
        "rerun_over_setup_floor": row["no_change_rerun_s"] / row["setup_floor_s"],
        "install_over_package_floor": row["fresh_install_s"] / row["package_floor_s"],
        "verify_over_rerun": row["verify_s"] / row["no_change_rerun_s"],
    }
    if "add_node_at_scale_s" in row:
        result["add_node_at_scale_over_add_node"] = row["add_node_at_scale_s"] / row["add_node_s"]
    return {name: round(value, 2) for name, value in result.items()}


TARGETS = {
    "rerun_over_setup_floor": 10.0,
    "verify_over_rerun": 1.0,
    "add_node_at_scale_over_add_node": 1.3,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu-nodes", type=int, default=2)
    parser.add_argument("--scale", type=int, help="also time add-node with this many GPU nodes")
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "benchmark.json")
    args = parser.parse_args()
    row = measure(args.gpu_nodes, args.scale)
    row = {key: round(val, 1) if isinstance(val, float) else val for key, val in row.items()}
    row["ratios"] = ratios(row)
    row["mitogen"] = os.environ.get("GPUCLUSTER_MITOGEN", "1") != "0"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(row, indent=2) + "\n")
    print(f"sandbox: {row['nodes']} nodes ({row['gpu_nodes']} GPU), mitogen {row['mitogen']}")
    print(f"setup floor (ansible all -m setup): {row['setup_floor_s']} s")
    print(f"package floor (one apt transaction per node, parallel): {row['package_floor_s']} s")
    print(f"fresh install: {row['fresh_install_s']} s")
    print(f"no-change re-run: {row['no_change_rerun_s']} s")
    print(f"verify: {row['verify_s']} s")
    print(f"add-node ({row['gpu_nodes']} GPU nodes present): {row['add_node_s']} s")
    if "add_node_at_scale_s" in row:
        print(f"add-node ({row['scale_gpu_nodes']} present): {row['add_node_at_scale_s']} s")
    for name, value in row["ratios"].items():
        target = TARGETS.get(name)
        verdict = "" if target is None else (" ok" if value <= target else f" OVER {target}")
        print(f"{name}: {value}{verdict}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
