"""The node image every sandbox and Molecule container boots."""

from __future__ import annotations

import subprocess

from gpucluster import paths

NODE_IMAGE = "gpucluster-node:bookworm"


def ensure_image(image: str = NODE_IMAGE) -> None:
    """Build the node image with images/node/build.sh unless it is current.

    build.sh owns the check: the image carries a digest of the files it was built from,
    so an image left by an older checkout is rebuilt instead of booting stale nodes.
    """
    script = paths.project_root() / "images" / "node" / "build.sh"
    subprocess.run(["bash", str(script), image], check=True)
