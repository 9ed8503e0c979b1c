"""Prometheus text exposition for gpucluster's node_exporter textfile collectors.

The collectors (gpu_usage.py, certificate_expiry.py) run with a node's python3 and only its
standard library, so they cannot use prometheus_client. What they share is here: gauges
rendered with escaped label values, and the file replaced in one rename so a scrape never
reads half of it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any


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


Produce = Callable[[dict[str, Any], argparse.Namespace], tuple[str, list[str]]]
"""(collectors' settings, command line) -> (exposition text, problems to report)."""


def run_collector(
    argv: list[str] | None,
    doc: str,
    output_name: str,
    produce: Produce,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """The command line of a collector driven by collectors.json: read the settings, write
    one file, say each problem on stderr (the unit's journal). Problems do not fail the run:
    the series say what is wrong, and an alert watches them."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--settings", type=Path, required=True, help="collectors.json")
    parser.add_argument("--output-dir", type=Path, required=True, help="the textfile directory")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    settings = json.loads(args.settings.read_text(encoding="utf-8"))
    text, problems = produce(settings, args)
    write_atomically(args.output_dir, output_name, text)
    for problem in problems:
        print(f"{Path(output_name).stem}: {problem}", file=sys.stderr)
    return 0
