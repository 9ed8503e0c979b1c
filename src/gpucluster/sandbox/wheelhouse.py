"""MLflow's pinned wheels on this machine, for the sandbox's nodes to install from.

The nodes reach no package index; this machine does, through its own pip configuration.
`sandbox up` downloads every wheel role mlflow pins (roles/mlflow/files/requirements.txt)
once into a cache directory here, and each node gets that directory read-only at
NODE_PATH, which the sandbox's inventory names as mlflow_wheelhouse_dir: the same path an
offline site would fill from `gpucluster offline-bundle`. Molecule's `mlflow` scenario uses
the same cache.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gpucluster import paths

NODE_PATH = "/srv/wheelhouse"


class WheelhouseError(RuntimeError):
    """The wheels could not be downloaded."""


def wheelhouse_dir() -> Path:
    return Path.home() / ".cache" / "gpucluster" / "wheelhouse"


def requirements_file() -> Path:
    return paths.project_root() / "roles" / "mlflow" / "files" / "requirements.txt"


def ensure_wheelhouse() -> Path:
    """Download the wheels not there yet (pip skips the ones present); return the directory."""
    directory = wheelhouse_dir()
    directory.mkdir(parents=True, exist_ok=True)
    download = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--no-deps",
         "--dest", str(directory), "--requirement", str(requirements_file())],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if download.returncode != 0:
        lines = (download.stderr or download.stdout).strip().splitlines() or ["no output"]
        raise WheelhouseError(f"downloading MLflow's wheels into {directory} failed: {lines[-1]}")
    return directory
