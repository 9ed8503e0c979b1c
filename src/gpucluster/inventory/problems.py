"""The one error type the inventory code raises.

An operator fixing an inventory wants every mistake at once, each pointing at a file and line
they can open, so validation collects `Problem`s instead of stopping at the first one and raises
them together as one `InventoryError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an inventory, located as precisely as the source allows.

    `line` is 1-based and None when unknown (for example a value that came from the command
    line rather than from a file). `host` and `field` name the node and the variable when the
    problem is about one.
    """

    file: Path
    line: int | None
    host: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        """One line, `file:line: host NAME: field: message`, leaving out the unknown parts.

        Kept to one line so that editors and `grep` can jump to it and a list of problems
        stays one problem per line.
        """
        location = str(self.file) if self.line is None else f"{self.file}:{self.line}"
        parts = [location]
        if self.host is not None:
            parts.append(f"host {self.host}")
        if self.field is not None:
            parts.append(self.field)
        parts.append(" ".join(self.message.split()))
        return ": ".join(parts)


class InventoryError(Exception):
    """An inventory that cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
