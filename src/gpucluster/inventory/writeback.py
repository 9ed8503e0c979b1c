"""Writing an edited YAML document back the way the operator wrote it, all at once.

The inventory's files are the operator's: an edit made by the CLI must keep their comments,
preamble and indentation, and must replace the file atomically so that a crash or a
concurrent edit never leaves a half-written or silently overwritten file.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
from contextlib import suppress
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from pathlib import Path

from gpucluster.inventory.files import new_yaml
from gpucluster.inventory.problems import InventoryError, Problem

_DOCUMENT_START = re.compile(r"---[ \t]*(#.*)?")
_PREAMBLE_LINE = re.compile(r"[ \t]*(#.*|%.*)?")


@dataclass(frozen=True)
class DocumentLayout:
    """How the file is laid out: what comes before the document, and its indentation.

    ruamel re-indents the whole document with one setting and drops comments above `---`, so
    the preamble is kept verbatim and the indentation is the one that reproduces the file as
    read. When none does exactly (mixed styles in one file), the closest one is used.
    """

    preamble: str
    mapping: int
    sequence: int
    offset: int
    newline: str = "\n"

    @classmethod
    def of(cls, text: str) -> DocumentLayout:
        """The layout that reproduces `text`, Windows line ends included."""
        newline = line_end(text)
        text = text.replace("\r\n", "\n")
        preamble = _preamble(text)
        document = new_yaml().load(text)
        guessed = _guess_mapping_indent(text[len(preamble) :])
        candidates = []
        for mapping in dict.fromkeys((guessed, 2, 4, 3)):
            for sequence, offset in ((mapping + 2, mapping), (4, 2), (2, 0), (mapping, 0)):
                candidates.append(cls(preamble, mapping, sequence, offset))
        lines = text.splitlines()

        def likeness(layout: DocumentLayout) -> float:
            rendered = layout.render(document)
            if rendered == text:
                return 2.0  # exact: better than any ratio
            return SequenceMatcher(None, lines, rendered.splitlines(), autojunk=False).ratio()

        best = candidates[0]
        best_likeness = -1.0
        for layout in dict.fromkeys(candidates):
            score = likeness(layout)
            if score > best_likeness:
                best, best_likeness = layout, score
            if score == 2.0:
                break
        return replace(best, newline=newline)

    def render(self, document: object) -> str:
        yaml = new_yaml()
        yaml.indent(mapping=self.mapping, sequence=self.sequence, offset=self.offset)
        yaml.width = 4096  # never re-wrap the operator's long lines
        yaml.explicit_start = False  # the preamble carries `---` when the file had one
        out = io.StringIO()
        yaml.dump(document, out)
        return (self.preamble + out.getvalue()).replace("\n", self.newline)


def line_end(text: str) -> str:
    """The line end an operator's file uses ("\r\n" for Windows line ends), kept on write."""
    return "\r\n" if "\r\n" in text else "\n"


def _preamble(text: str) -> str:
    """Comment, blank and directive lines up to and including a `---` line, if there is one."""
    position = 0
    for line in text.splitlines(keepends=True):
        if _DOCUMENT_START.fullmatch(line.rstrip("\r\n")):
            return text[: position + len(line)]
        if not _PREAMBLE_LINE.fullmatch(line.rstrip("\r\n")):
            return ""
        position += len(line)
    return ""


def _guess_mapping_indent(text: str) -> int:
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if stripped and line != stripped and not stripped.startswith(("#", "-")):
            return len(line) - len(stripped)
    return 2


def write_atomically(path: Path, data: bytes, expected: bytes) -> None:
    """Replace `target` with `data` all at once, keeping its mode (and owner where allowed).

    The new contents go to a temporary file in the same directory, are fsynced, and are
    renamed over the original, so a reader (or a crash) sees either the old file or the new
    one, never a mix. `expected` is the content the edit was based on: if the file changed
    meanwhile, nothing is written rather than losing the other change.
    """
    target = path.resolve()  # write through a symlink, not over it
    status = target.stat()
    descriptor, temporary_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fchmod(stream.fileno(), stat.S_IMODE(status.st_mode))
            with suppress(PermissionError):
                os.fchown(stream.fileno(), status.st_uid, status.st_gid)
            os.fsync(stream.fileno())
        if target.read_bytes() != expected:
            raise InventoryError(
                [
                    Problem(
                        path,
                        None,
                        None,
                        None,
                        "changed by someone else during the edit: nothing written, try again",
                    )
                ]
            )
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; not every filesystem allows this, hence best effort."""
    with suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def create_exclusively(path: Path, data: bytes) -> None:
    """Write a new file; refuse if one appeared meanwhile rather than overwrite it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError as error:
        problem = Problem(path, None, None, None, "appeared during the edit: try again")
        raise InventoryError([problem]) from error
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
