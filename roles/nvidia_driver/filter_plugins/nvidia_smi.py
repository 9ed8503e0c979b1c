"""Parse `nvidia-smi --query-gpu=index,name,pci.bus_id,driver_version,memory.total
--format=csv,noheader,nounits` into one dict per GPU.

The query interface is nvidia-smi's stable, scriptable output; the
human-readable table is not. Kept in Python so it is unit-tested against
output recorded on real hardware.
"""

from __future__ import annotations

import re
from typing import Any

_VERSION = re.compile(r"\b(\d+\.\d+(?:\.\d+)?)\b")

FIELDS = ("index", "name", "pci_bus_id", "driver_version", "memory_mib")


def nvidia_smi_gpus(output: str) -> list[dict[str, Any]]:
    """One dict per GPU line; raises ValueError on a line of another shape."""
    gpus: list[dict[str, Any]] = []
    for line in output.splitlines():
        if not line.strip():
            continue
        values = [value.strip() for value in line.split(",")]
        if len(values) != len(FIELDS):
            raise ValueError(f"unexpected nvidia-smi line: {line!r}")
        gpu: dict[str, Any] = dict(zip(FIELDS, values, strict=True))
        gpu["index"] = int(gpu["index"])
        gpu["memory_mib"] = int(gpu["memory_mib"])
        gpu["driver_branch"] = gpu["driver_version"].split(".")[0]
        gpus.append(gpu)
    return gpus


def nvidia_loaded_version(proc_version: str) -> str:
    """The loaded kernel module's version from /proc/driver/nvidia/version ("" if none).

    Only the NVRM line counts: the GCC line carries a version too, and the
    architecture ("x86_64") holds digits that are not one.
    """
    for line in proc_version.splitlines():
        if line.startswith("NVRM version:"):
            match = _VERSION.search(line)
            return match.group(1) if match else ""
    return ""


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"nvidia_smi_gpus": nvidia_smi_gpus, "nvidia_loaded_version": nvidia_loaded_version}
