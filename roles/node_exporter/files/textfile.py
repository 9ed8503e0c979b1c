"""Prometheus text exposition for gpucluster's node_exporter textfile collectors.

The collectors (gpu_usage.py, certificate_expiry.py) run with a node's python3 and only its
standard library, so they cannot use prometheus_client. What they share is here: gauges
rendered with escaped label values, and the file replaced in one rename so a scrape never
reads half of it.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Gauges:
    """Samples of gauges, rendered in the order their help texts are given."""

    def __init__(self, help_texts: dict[str, str]) -> None:
        self.help_texts = help_texts
        self.samples: dict[str, list[str]] = defaultdict(list)

    def add(self, name: str, labels: dict[str, str], value: float | None) -> None:
        """Record one sample; a value nobody measured (None) is left out, not zero."""
        if name not in self.help_texts:
            raise KeyError(f"undeclared metric {name}")
        if value is None:
            return
        text = str(value) if isinstance(value, int) else repr(float(value))
        rendered = ",".join(f'{key}="{_label_value(str(v))}"' for key, v in labels.items())
        self.samples[name].append(f"{name}{{{rendered}}} {text}" if labels else f"{name} {text}")

    def text(self) -> str:
        lines: list[str] = []
        for name, help_text in self.help_texts.items():
            if self.samples.get(name):
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
                lines += self.samples[name]
        return "\n".join(lines) + "\n"


def write_atomically(directory: Path, name: str, text: str) -> Path:
    """Replace <directory>/<name> in one rename (world-readable: node_exporter reads it)."""
    target = directory / name
    partial = directory / f".{name}.{os.getpid()}"
    partial.write_text(text, encoding="utf-8")
    partial.chmod(0o644)
    partial.replace(target)
    return target
