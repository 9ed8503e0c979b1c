"""THE safe inventory edit, used by every command that changes the operator's files.

The inventory is the operator's: its files carry their comments, order, quoting and line
ends, and they are the single source of truth for the cluster. So every edit, of a node in
hosts.yml or of a person in group_vars, goes the same way:

1. read every file of the inventory once, exactly as on disk (`Edit.open`);
2. apply a change to the one target document in memory (the node or people change);
3. validate the whole resulting inventory with every rule, the change's own problems included;
4. render the target as the operator wrote it (layout, comments, line ends), parse and validate
   exactly that text once more, and write it atomically, unless the file changed since step 1.

Keeping this in one place is what makes node edits and people edits behave alike: a fix here
(Windows line ends, a concurrent edit, a half-written file) holds for both by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from gpucluster.inventory.files import (
    ParsedFile,
    parse_yaml,
    read_scoped_vars,
    read_yaml,
    resolve_inventory_paths,
)
from gpucluster.inventory.load import cluster_from_documents
from gpucluster.inventory.model import Cluster
from gpucluster.inventory.problems import Problem
from gpucluster.inventory.writeback import (
    DocumentLayout,
    create_exclusively,
    line_end,
    write_atomically,
)

ScopedFiles = list[tuple[str, str, ParsedFile]]
"""(kind, name, file) for the group_vars/<group> and host_vars/<host> files (files.py)."""


@dataclass
class Edit:
    """One edit of one inventory file: every file as read, and which one receives the change.

    The files are read like every inventory file (read_yaml): an unreadable one is a problem
    that validation reports, and each text is exactly the bytes on disk, which is what the
    write compares against. `created` marks a target that does not exist yet (a new vars
    file); `problems` are those the change itself found, reported with the rules' problems.
    """

    hosts: ParsedFile
    vars_files: list[ParsedFile]
    scoped: ScopedFiles
    target: Path
    created: bool = False
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def open(cls, path: Path) -> Edit:
        """Read the inventory at `path` once; the target is its hosts file until retargeted."""
        hosts_file, vars_paths = resolve_inventory_paths(path)
        hosts = read_yaml(hosts_file)
        return cls(
            hosts,
            [read_yaml(file) for file in vars_paths],
            read_scoped_vars(hosts_file),
            hosts_file,
        )

    @property
    def file(self) -> ParsedFile:
        """The target file as read (or as created in memory), its document being changed."""
        return self._files_with()[self._index()]

    def set_file(self, file: ParsedFile) -> None:
        """Replace the target's parsed file (a document created where the file had none)."""
        if self.hosts.path == self.target:
            self.hosts = file
        else:
            self.vars_files[self._index() - 1] = file

    def validate(self, extra_problems: list[Problem] | None = None) -> Cluster:
        """The cluster the documents describe now, or InventoryError with every problem."""
        return cluster_from_documents(
            self.hosts, self.vars_files, extra_problems or (), scoped=self.scoped
        )

    def commit(self, *, write: bool = True) -> Cluster:
        """Validate the edited inventory with every rule and write the target only if all is well.

        The text about to be written is parsed and validated once more, so what lands on disk
        is exactly what passed validation, whatever the YAML emitter did. `write=False` stops
        after the validation. A target changed by someone else since it was read is not
        overwritten (nor a created one that appeared meanwhile).
        """
        cluster_from_documents(self.hosts, self.vars_files, self.problems, scoped=self.scoped)
        file = self.file
        rendered = _layout(file, self.created).render(file.document)
        files = self._files_with(parse_yaml(file.path, rendered))
        cluster = cluster_from_documents(files[0], files[1:], scoped=self.scoped)
        if not write:
            return cluster
        data = rendered.encode("utf-8")
        if self.created:
            create_exclusively(file.path, data)
        else:
            write_atomically(file.path, data, file.text.encode("utf-8"))
        return cluster

    def _index(self) -> int:
        paths = [self.hosts.path, *(file.path for file in self.vars_files)]
        return paths.index(self.target)

    def _files_with(self, target: ParsedFile | None = None) -> list[ParsedFile]:
        """The hosts file then the vars files, with the target replaced when one is given."""
        files = [self.hosts, *self.vars_files]
        if target is not None:
            files[self._index()] = target
        return files


def _layout(file: ParsedFile, created: bool) -> DocumentLayout:
    """The layout that writes the target back as the operator wrote it.

    A file with no document yet (empty, comments only, or about to be created) keeps its text
    verbatim as the preamble and its line ends; the new document takes the usual indentation.
    """
    text = file.text
    layout = DocumentLayout.of(text) if file.document else DocumentLayout.of("a: 1\n")
    if not file.document or created:
        layout = replace(layout, preamble=text.replace("\r\n", "\n"), newline=line_end(text))
    return layout
