"""Is the secrets directory in version control? `gpucluster check` warns when it is.

Generated passwords live beside the inventory (`<inventory>/.secrets`, mode 0600), and the
inventory itself usually lives in git. A `git add -A` would put every cluster password into
the repository's history, readable by everyone who can clone it, so the check looks.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SECRETS_DIR_NAME = ".secrets"


def tracked_secret_files(inventory_dir: Path) -> list[str]:
    """The files of `<inventory_dir>/.secrets` that git tracks (empty outside a git work tree,
    or without git)."""
    git = shutil.which("git")
    if git is None or not (inventory_dir / SECRETS_DIR_NAME).exists():
        return []
    try:
        listed = subprocess.run(
            [git, "-C", str(inventory_dir), "ls-files", "-z", "--", SECRETS_DIR_NAME],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if listed.returncode != 0:  # not a work tree
        return []
    return [name for name in listed.stdout.decode(errors="replace").split("\0") if name]
