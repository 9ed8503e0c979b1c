#!/usr/bin/python3
"""Lists NVIDIA GPUs from the PCI bus, without needing a driver or lspci.

A GPU is a PCI function of vendor 0x10de with a display controller class
(0x03xxxx: VGA or 3D); NVIDIA's HD-audio functions (0x0403xx) are not GPUs.
PCI_DEVICES_DIR overrides /sys/bus/pci/devices (tests use a recorded tree).
Prints one JSON object: {"count": N, "devices": ["0000:17:00.0 10de:2330", ...]}.
"""

import json
import os
from pathlib import Path


def _read(path: Path) -> str:
    """A sysfs attribute's value, or "" when it cannot be read."""
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def nvidia_gpus(devices: Path) -> list[str]:
    """'<address> 10de:<device id>' for each NVIDIA display controller, sorted."""
    found = []
    for function in sorted(devices.iterdir()) if devices.is_dir() else []:
        if _read(function / "vendor") != "0x10de":
            continue
        if not _read(function / "class").startswith("0x03"):
            continue
        device_id = _read(function / "device").removeprefix("0x")
        found.append(f"{function.name} 10de:{device_id}")
    return found


def main() -> None:
    devices = nvidia_gpus(Path(os.environ.get("PCI_DEVICES_DIR", "/sys/bus/pci/devices")))
    print(json.dumps({"count": len(devices), "devices": devices}))


if __name__ == "__main__":
    main()
