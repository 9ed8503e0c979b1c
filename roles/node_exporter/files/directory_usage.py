#!/usr/bin/python3
"""How much each project (and each home) holds on the file server: a textfile collector.

File system free space comes from node_exporter itself; what it cannot say is who fills
the space. This collector adds up the disk blocks under every directory directly below the
given roots (`/srv/nfs/projects/<project>`, `/srv/nfs/home/<user>`), as `du` counts them:
hard links once, without following symlinks or crossing into other file systems. It runs
at idle I/O priority from a timer; on a file server with many millions of files, project
quotas (XFS) would answer faster, and are not what this does.

Yields `gpucluster_directory_bytes{root,name}` and `gpucluster_directory_files{root,name}`.
Standard library only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from textfile import Gauges, run_collector  # beside this file on the node

OUTPUT_NAME = "gpucluster_directories.prom"
METRICS = {
    "gpucluster_directory_bytes": "Disk space the directory's files take (du's count).",
    "gpucluster_directory_files": "Files and directories under it.",
}


def usage(top: Path) -> tuple[int, int]:
    """(bytes on disk, entries) under `top`, on its own file system, hard links once."""
    device = top.lstat().st_dev
    seen: set[tuple[int, int]] = set()
    total = entries = 0
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as listing:
                for entry in listing:
                    info = entry.stat(follow_symlinks=False)
                    if info.st_dev != device:
                        continue
                    entries += 1
                    if info.st_nlink > 1:
                        if (info.st_dev, info.st_ino) in seen:
                            continue
                        seen.add((info.st_dev, info.st_ino))
                    total += info.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
        except OSError:
            continue  # vanished or unreadable meanwhile: counted as far as it was read
    return total + top.lstat().st_blocks * 512, entries


def render(roots: dict[str, str]) -> str:
    gauges = Gauges(METRICS)
    for root_name, root in roots.items():
        base = Path(root)
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if child.is_dir() and not child.is_symlink():
                size, entries = usage(child)
                labels = {"root": root_name, "name": child.name}
                gauges.add("gpucluster_directory_bytes", labels, size)
                gauges.add("gpucluster_directory_files", labels, entries)
    return gauges.text()


def main(argv: list[str] | None = None) -> int:
    return run_collector(
        argv,
        __doc__,
        OUTPUT_NAME,
        lambda settings, _: (render(settings.get("directory_roots", {})), []),
    )


if __name__ == "__main__":
    sys.exit(main())
