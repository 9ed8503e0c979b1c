"""Export one path of one archive of a source's borg repository as a tar file.

Run by tasks/export.yml on the backup host (as root, the borg environment set by the task):

    export_path.py REPOSITORY SOURCE PATH SNAPSHOT HOSTNAME

SNAPSHOT is an archive name, or empty for the newest archive. One round trip does what took
six tasks and three borg calls: find the archive, export the path with `borg export-tar`
into a root-only scratch file, and confirm the tar holds it (a path the archive does not
hold gives an empty tar). Prints one JSON object: {"archive", "tar"} on success, or
{"error"} with the message the operator reads, naming the source, the archive and what to
run to see more. The scratch file is removed on every error; on success the caller fetches
and removes it. Every argument reaches borg as one argv element, never through a shell.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def borg(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["borg", *argv], capture_output=True, text=True, check=False)


def find_archive(repository: str, source: str, snapshot: str) -> str:
    """The named archive, or the newest; raises LookupError with the operator's message."""
    if snapshot:
        found = borg("info", f"{repository}::{snapshot}")
        name = snapshot
    else:
        found = borg("list", "--short", "--last", "1", repository)
        name = found.stdout.strip()
    if found.returncode != 0 or not name:
        which = f"no archive {snapshot}" if snapshot else "no archive yet"
        raise LookupError(
            f"{which} for {source} (`gpucluster backup list` shows them): {found.stderr.strip()}"
        )
    return name


def holds_anything(path: str) -> bool:
    with tarfile.open(path) as archive:
        return archive.next() is not None


def export(repository: str, source: str, path: str, snapshot: str, hostname: str) -> dict:
    if not (Path(repository) / "config").exists():
        return {
            "error": f"no backup repository for {source} on {hostname} ({repository}):"
            " is it a backup source?"
        }
    try:
        archive = find_archive(repository, source, snapshot)
    except LookupError as error:
        return {"error": str(error)}
    member = path.strip("/")
    handle, tar = tempfile.mkstemp(prefix="gpucluster-export-", suffix=".tar")
    os.close(handle)
    exported = borg("export-tar", f"{repository}::{archive}", tar, f"pp:{member}")
    # 1 is borg's "warning": an include pattern that matched nothing says so with it.
    if exported.returncode in (0, 1) and holds_anything(tar):
        return {"archive": archive, "tar": tar}
    Path(tar).unlink()
    if exported.returncode in (0, 1):
        return {
            "error": f"{path} is not in archive {archive} of {source} (borg list"
            f" {repository}::{archive} shows what it holds)"
        }
    return {"error": f"borg export-tar of {path} from {archive} failed: {exported.stderr.strip()}"}


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(json.dumps({"error": "usage: export_path.py REPOSITORY SOURCE PATH SNAPSHOT HOST"}))
        return 2
    print(json.dumps(export(*argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
