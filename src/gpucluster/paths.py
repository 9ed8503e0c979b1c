"""Where gpucluster finds its Ansible content and keeps its state.

The roles and playbooks live next to the package in the project checkout; an
operator may point elsewhere with GPUCLUSTER_HOME. State (run logs, fact cache,
sandbox) goes under GPUCLUSTER_STATE_DIR, by default ~/.local/state/gpucluster,
so nothing an operator runs writes into the checkout.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def project_root() -> Path:
    """The directory holding playbooks/ and roles/."""
    override = os.environ.get("GPUCLUSTER_HOME")
    if override:
        return Path(override).resolve()
    root = Path(__file__).resolve().parents[2]
    if not (root / "playbooks").is_dir():
        raise RuntimeError(
            f"gpucluster: no playbooks/ under {root}; set GPUCLUSTER_HOME to the project checkout"
        )
    return root


def playbook(name: str) -> Path:
    """Absolute path of playbooks/<name> (an absolute path is taken as it is)."""
    if Path(name).is_absolute():
        return Path(name)
    return project_root() / "playbooks" / name


def state_dir() -> Path:
    """Per-operator state: run directories, fact cache, sandbox."""
    override = os.environ.get("GPUCLUSTER_STATE_DIR")
    base = Path(override) if override else Path.home() / ".local" / "state" / "gpucluster"
    base.mkdir(parents=True, exist_ok=True)
    return base.resolve()


def inventory_state_dir(inventory: Path) -> Path:
    """State that belongs to one inventory: its lock, lagging nodes, recorded removals.

    `inventory` is the directory or its hosts file (`-i inv` and `-i inv/hosts.yml` are the
    same cluster, so they share one directory and one lock). Named by a hash of the resolved
    directory, with a file `inventory` inside naming it for a person looking around.
    """
    directory = (inventory if inventory.is_dir() else inventory.parent).resolve()
    key = hashlib.sha256(str(directory).encode()).hexdigest()[:12]
    state = state_dir() / "inventories" / key
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    label = state / "inventory"
    if not label.exists():
        label.write_text(f"{directory}\n")
    return state
