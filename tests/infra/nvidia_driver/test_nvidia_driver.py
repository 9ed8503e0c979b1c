"""Role nvidia_driver: on every GPU node the driver sees exactly the NVIDIA
GPUs on the PCI bus; a node without a GPU carries no NVIDIA driver."""

from __future__ import annotations

import json
from pathlib import Path

testinfra_hosts = ["ansible://gpu"]

ROOT = Path(__file__).resolve().parents[3]
DETECT = ROOT / "roles" / "nvidia_driver" / "files" / "nvidia_gpus.py"


def test_driver_matches_the_pci_bus(host):
    pci = json.loads(host.check_output("python3 -c %s", DETECT.read_text()))
    if pci["count"] == 0:
        # Nothing to drive (the sandbox and Molecule have no GPU): no driver installed.
        assert not host.package("nvidia-driver").is_installed
        assert host.run("test -e /proc/driver/nvidia/version").rc != 0
        return
    listed = host.check_output("nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader")
    assert len(listed.splitlines()) == pci["count"]
