"""Where gpucluster finds its Ansible content and keeps its state.

The roles and playbooks live next to the package in the project checkout; an
operator may point elsewhere with GPUCLUSTER_HOME. State (run logs, fact cache,
sandbox) goes under GPUCLUSTER_STATE_DIR, by default ~/.local/state/gpucluster,
so nothing an operator runs writes into the checkout.
"""

from __future__ import annotations

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
