"""The node image must not drift from what the roles install.

The image pre-seeds the common role's base packages only to spare every
container the same downloads; if the role's list grows, the image list must
grow with it, or the sandbox would silently test a slower path.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _image_packages() -> set[str]:
    lines = (ROOT / "images" / "node" / "packages.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_common_base_packages_are_baked_into_the_node_image():
    defaults = yaml.safe_load((ROOT / "roles" / "common" / "defaults" / "main.yml").read_text())
    missing = set(defaults["common_base_packages"]) - _image_packages()
    assert not missing, f"add to images/node/packages.txt: {sorted(missing)}"


def test_image_carries_what_ansible_and_the_sandbox_need():
    assert {"python3", "python3-apt", "openssh-server", "systemd", "sudo"} <= _image_packages()
