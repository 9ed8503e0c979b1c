"""The preflight's GPU detection script, run on PCI trees recorded from real machines.

h100-vm.txt was read off a machine with one NVIDIA H100 (driver 580, Ubuntu
24.04) by the same script's inputs: every PCI function's vendor, class and
device id. The script itself also ran there and found exactly that GPU.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "roles" / "nvidia_driver" / "files" / "nvidia_gpus.py"
FIXTURES = Path(__file__).parent / "fixtures" / "pci"


def _fake_sysfs(tmp_path: Path, lines: list[str]) -> Path:
    devices = tmp_path / "devices"
    for line in lines:
        address, vendor, klass, device = line.split()
        node = devices / address
        node.mkdir(parents=True)
        (node / "vendor").write_text(vendor + "\n")
        (node / "class").write_text(klass + "\n")
        (node / "device").write_text(device + "\n")
    devices.mkdir(exist_ok=True)
    return devices


def _detect(devices: Path) -> dict:
    completed = subprocess.run(
        ["python3", str(SCRIPT)],
        env={"PCI_DEVICES_DIR": str(devices), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout)


def test_finds_the_h100_of_a_recorded_machine(tmp_path):
    lines = (FIXTURES / "h100-vm.txt").read_text().splitlines()
    assert _detect(_fake_sysfs(tmp_path, lines)) == {
        "count": 1,
        "devices": ["0000:00:06.0 10de:2330"],
    }


@pytest.mark.parametrize(
    ("lines", "count"),
    [
        ([], 0),
        (["0000:00:01.0 0x1af4 0x018000 0x1042"], 0),
        # An NVIDIA HD-audio function (class 0x0403) is not a GPU.
        (["0000:17:00.0 0x10de 0x030000 0x2684", "0000:17:00.1 0x10de 0x040300 0x22ba"], 1),
        (["0000:17:00.0 0x10de 0x030200 0x20b5", "0000:31:00.0 0x10de 0x030200 0x20b5"], 2),
    ],
)
def test_counts_only_nvidia_display_controllers(tmp_path, lines, count):
    assert _detect(_fake_sysfs(tmp_path, lines))["count"] == count
