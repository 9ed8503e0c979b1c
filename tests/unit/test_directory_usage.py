"""The directory usage collector counts a project directory as `du` does.

A real tree in tmp_path: files, a subdirectory, a hard link (counted once) and a symlink to
a large file outside (not followed). The reference is GNU du itself.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.unit.conftest import load_collector

directory_usage = load_collector("directory_usage")


def test_project_directories_are_counted_as_du_counts_them(tmp_path: Path):
    projects = tmp_path / "projects"
    vision = projects / "vision"
    (vision / "runs").mkdir(parents=True)
    (vision / "runs" / "weights.bin").write_bytes(os.urandom(300_000))
    (vision / "notes.txt").write_text("x" * 5000)
    os.link(vision / "runs" / "weights.bin", vision / "weights-link.bin")
    outside = tmp_path / "outside.bin"
    outside.write_bytes(os.urandom(2_000_000))
    (vision / "big").symlink_to(outside)
    (projects / "nlp").mkdir()
    settings = tmp_path / "collectors.json"
    settings.write_text(json.dumps({"directory_roots": {"projects": str(projects)}}))
    out = tmp_path / "textfile"
    out.mkdir()

    assert directory_usage.main(["--settings", str(settings), "--output-dir", str(out)]) == 0

    text = (out / directory_usage.OUTPUT_NAME).read_text()
    found = {
        (s.name, s.labels["name"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    for name in ("vision", "nlp"):
        du = subprocess.run(
            ["du", "-s", "-B1", str(projects / name)], capture_output=True, text=True, check=True
        )
        assert found[("gpucluster_directory_bytes", name)] == int(du.stdout.split()[0]), name
    assert found[("gpucluster_directory_files", "vision")] == 5  # runs, 2 files, link, symlink
    assert found[("gpucluster_directory_files", "nlp")] == 0
