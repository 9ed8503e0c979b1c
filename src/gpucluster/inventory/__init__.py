"""The inventory: its files, its rules, the cluster model, and the one safe way to edit it.

One module per job, so a newcomer finds each in one hop:

- `files`: finding an inventory's files and reading them as YAML with line numbers;
- `values`, `raw`: what a valid value looks like; what the operator wrote, with locations;
- `node_rules`, `people_rules`: the rules, each a function from the raw inventory to problems;
- `model`, `load`: the validated `Cluster` commands use, and the one path that builds it;
- `writeback`, `edit`: writing a document back as the operator wrote it; THE safe edit
  (read, change, validate the whole result, write atomically unless the file changed);
- `node_edits`, `people_edits`: the changes add-node, remove-node, replace-node and the user
  and project commands make, each on top of that one edit.

The names commands need are importable from the package itself.
"""

from gpucluster.inventory.files import (
    ParsedFile,
    UnreadableFile,
    new_yaml,
    parse_yaml,
    read_limited_text,
    read_yaml,
    resolve_inventory_paths,
)
from gpucluster.inventory.load import cluster_from_documents, load_cluster
from gpucluster.inventory.model import Cluster, NewNode, Node, NodeChange
from gpucluster.inventory.problems import InventoryError, Problem
from gpucluster.inventory.values import NODE_GROUPS

__all__ = [
    "NODE_GROUPS",
    "Cluster",
    "InventoryError",
    "NewNode",
    "Node",
    "NodeChange",
    "ParsedFile",
    "Problem",
    "UnreadableFile",
    "cluster_from_documents",
    "load_cluster",
    "new_yaml",
    "parse_yaml",
    "read_limited_text",
    "read_yaml",
    "resolve_inventory_paths",
]
