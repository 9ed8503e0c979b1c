"""nvidia_driver's parsers, on output recorded from a real H100 (driver 580).

The fixtures were read on a machine with one NVIDIA H100 80GB HBM3; the role
itself then ran there (tests/device/nvidia-driver-on-gpu.yml) and found the
pinned branch running through these same parsers.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"
spec = importlib.util.spec_from_file_location(
    "nvidia_smi", ROOT / "roles" / "nvidia_driver" / "filter_plugins" / "nvidia_smi.py"
)
assert spec and spec.loader
nvidia_smi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nvidia_smi)


def test_query_output_of_a_real_h100():
    gpus = nvidia_smi.nvidia_smi_gpus((FIXTURES / "h100-query-gpu.csv").read_text())
    assert gpus == [
        {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3",
            "pci_bus_id": "00000000:00:06.0",
            "driver_version": "580.159.04",
            "memory_mib": 81559,
            "driver_branch": "580",
        }
    ]


def test_several_gpus_and_blank_lines():
    output = (
        "0, NVIDIA A100-SXM4-80GB, 00000000:07:00.0, 550.90.07, 81920\n\n"
        "1, NVIDIA A100-SXM4-80GB, 00000000:0F:00.0, 550.90.07, 81920\n"
    )
    assert [g["index"] for g in nvidia_smi.nvidia_smi_gpus(output)] == [0, 1]


def test_an_unexpected_line_is_an_error():
    with pytest.raises(ValueError, match="unexpected nvidia-smi line"):
        nvidia_smi.nvidia_smi_gpus("No devices were found\n")


def test_loaded_version_of_a_real_driver():
    text = (FIXTURES / "h100-proc-driver-version.txt").read_text()
    # Not "86" from x86_64, not "15.3.0" from the GCC line.
    assert nvidia_smi.nvidia_loaded_version(text) == "580.159.04"


def test_no_driver_loaded():
    assert nvidia_smi.nvidia_loaded_version("") == ""
