"""The node image every sandbox and Molecule container boots."""

from __future__ import annotations

import subprocess

import docker
from docker.errors import ImageNotFound

from gpucluster import paths

NODE_IMAGE = "gpucluster-node:bookworm"


def ensure_image(client: docker.DockerClient, image: str = NODE_IMAGE) -> None:
    """Build the node image with images/node/build.sh unless it exists already."""
    try:
        client.images.get(image)
        return
    except ImageNotFound:
        pass
    script = paths.project_root() / "images" / "node" / "build.sh"
    subprocess.run(["bash", str(script), image], check=True)
