"""`gpucluster offline-bundle`: the packages and images an air-gapped site must provide."""

from __future__ import annotations

import argparse

from rich.console import Console

from gpucluster import offline_bundle
from gpucluster.commands import EXIT_OK


def run(args: argparse.Namespace, console: Console) -> int:
    bundle = offline_bundle.build()
    render = offline_bundle.as_json if args.format == "json" else offline_bundle.as_text
    # Plain output: it is meant to be piped or saved.
    console.file.write(render(bundle))
    return EXIT_OK
