#!/usr/bin/env python3
"""Time what the operator waits for, on the sandbox cluster.

Reports the wall time of a fresh install, of a no-change re-run, of add-node
(one GPU node), and how the no-change re-run grows with the number of GPU
nodes. Each measurement is one real `gpucluster` command against a sandbox
built from scratch; numbers go to stdout as a table and to a JSON file.

Usage: .venv/bin/python scripts/benchmark.py [--gpu-nodes 1 2 4] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gpucluster.run_result import summary_named_in

ROOT = Path(__file__).resolve().parents[1]


def gpucluster(state: Path, *args: str) -> tuple[float, dict | None]:
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
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout + completed.stderr)
        raise SystemExit(f"gpucluster {' '.join(args)} failed with {completed.returncode}")
    return elapsed, summary_named_in(completed.stdout)


def measure(gpu_nodes: int, with_add_node: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="gpucluster-bench-") as tmp:
        state = Path(tmp)
        gpucluster(state, "sandbox", "down")
        try:
            up_s, _ = gpucluster(state, "sandbox", "up", "--gpu-nodes", str(gpu_nodes))
            inventory = str(state / "sandbox" / "inventory")
            install_s, _ = gpucluster(state, "install", "-i", inventory)
            rerun_s, rerun = gpucluster(state, "install", "-i", inventory)
            assert rerun is not None and rerun["changed_total"] == 0, "re-run changed something"
            row = {
                "gpu_nodes": gpu_nodes,
                "nodes": gpu_nodes + 4,
                "sandbox_up_s": round(up_s, 1),
                "fresh_install_s": round(install_s, 1),
                "no_change_rerun_s": round(rerun_s, 1),
            }
            if with_add_node:
                name = f"gpu{gpu_nodes + 1:02d}"
                number = 100 + gpu_nodes + 1
                gpucluster(state, "sandbox", "add", name)
                mac = _storage_mac(state, name)
                add_s, _ = gpucluster(
                    state,
                    "add-node",
                    name,
                    "--group",
                    "gpu",
                    "--address",
                    f"10.221.0.{number}",
                    "--storage-address",
                    f"10.222.0.{number}",
                    "--storage-mac",
                    mac,
                    "-i",
                    inventory,
                )
                row["add_node_s"] = round(add_s, 1)
            return row
        finally:
            gpucluster(state, "sandbox", "down")


def _storage_mac(state: Path, name: str) -> str:
    inspect = subprocess.run(
        [
            "docker",
            "inspect",
            "-f",
            '{{ (index .NetworkSettings.Networks "gpucluster-storage").MacAddress }}',
            f"gpucluster-{name}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return inspect.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu-nodes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "benchmark.json")
    args = parser.parse_args()
    rows = [measure(n, with_add_node=(n == args.gpu_nodes[0])) for n in args.gpu_nodes]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    print("| GPU nodes | nodes | sandbox up | fresh install | no-change re-run | add-node |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        add = f"{row['add_node_s']} s" if "add_node_s" in row else "-"
        print(
            f"| {row['gpu_nodes']} | {row['nodes']} | {row['sandbox_up_s']} s | "
            f"{row['fresh_install_s']} s | {row['no_change_rerun_s']} s | {add} |"
        )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
