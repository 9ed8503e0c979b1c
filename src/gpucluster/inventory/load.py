"""Loading an inventory: parsed files in, a validated `Cluster` (or every problem) out.

This is the one path from documents to the model. Loading either succeeds with a model built
from input every rule accepted, or raises one `InventoryError` listing every problem, sorted
as an operator reads the files. Commands load through `load_cluster`; an edit validates the
documents it is about to write through `cluster_from_documents`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from gpucluster.inventory.files import (
    ParsedFile,
    read_scoped_vars,
    read_yaml,
    resolve_inventory_paths,
)
from gpucluster.inventory.model import Cluster, Node
from gpucluster.inventory.node_rules import validate
from gpucluster.inventory.people_rules import people_problems
from gpucluster.inventory.problems import InventoryError, Problem
from gpucluster.inventory.raw import RawInventory, ScopedVars, read_raw_inventory, sub_value
from gpucluster.inventory.values import DEFAULT_STORAGE_MTU, parse_address, parse_network


def check(
    hosts_file: Path,
    hosts_document: object,
    vars_documents: Sequence[tuple[Path, object]],
    scoped: Sequence[ScopedVars] = (),
) -> tuple[RawInventory, list[Problem]]:
    """Read the documents and run every rule; problems come sorted by file, then line."""
    inventory, problems = read_raw_inventory(hosts_file, hosts_document, vars_documents, scoped)
    problems += validate(inventory)
    files = (hosts_file, *inventory.vars_files, *inventory.scoped_files)
    return inventory, sort_problems(problems, files)


def sort_problems(problems: Iterable[Problem], files: Sequence[Path]) -> list[Problem]:
    """Order problems as an operator reads the files: hosts file first, then line by line.

    Problems without a line (values from the command line, missing variables) come first in
    their file; the sort is stable, so problems on one line keep the rules' order.
    """
    rank = {file: index for index, file in enumerate(files)}
    return sorted(
        problems,
        key=lambda problem: (rank.get(problem.file, len(rank)), problem.line or 0),
    )


# --- building the model ----------------------------------------------------------------------


def _build(inv: RawInventory) -> Cluster:
    """The model of an inventory every rule accepted (so every value parses)."""

    def text(value: object) -> str | None:
        return None if value is None else str(value)

    nodes = []
    for host in inv.hosts:
        address = parse_address(host.fields["ansible_host"].value)
        storage_address = parse_address(host.fields["storage_address"].value)
        assert address is not None and storage_address is not None
        interface = host.fields.get("storage_interface")
        mac = host.fields.get("storage_mac")
        nodes.append(
            Node(
                name=str(host.name),
                group=host.group,
                address=address,
                storage_address=storage_address,
                storage_interface=text(interface.value) if interface else None,
                storage_mac=str(mac.value).lower() if mac else None,
            )
        )
    storage = inv.cluster_vars["storage_network"]
    storage_cidr = sub_value(storage, "cidr")
    storage_network = parse_network(storage_cidr.value) if storage_cidr else None
    assert storage_network is not None
    management_cidr = sub_value(inv.cluster_vars.get("management_network"), "cidr")
    mtu = sub_value(storage, "mtu")
    assert mtu is None or isinstance(mtu.value, int)
    return Cluster(
        hosts_file=inv.hosts_file,
        vars_files=inv.vars_files,
        name=str(inv.cluster_vars["cluster_name"].value),
        domain=str(inv.cluster_vars["cluster_domain"].value),
        management_network=parse_network(management_cidr.value) if management_cidr else None,
        storage_network=storage_network,
        storage_mtu=int(mtu.value) if mtu is not None else DEFAULT_STORAGE_MTU,
        nodes=tuple(nodes),
    )


def cluster_from_documents(
    hosts: ParsedFile,
    vars_files: Sequence[ParsedFile],
    extra_problems: Iterable[Problem] = (),
    *,
    scoped: Sequence[tuple[str, str, ParsedFile]] | None = None,
) -> Cluster:
    """Validate parsed documents and build the model, or raise with every problem found.

    Takes parsed documents rather than paths so that an edit can validate the document it is
    about to write, exactly as it will be written. `extra_problems` are ones the caller found
    (e.g. about command-line values) and are reported together with the rest. `scoped` are
    the group_vars/<group> and host_vars/<host> files already read (an edit reads them once),
    else they are read here.
    """
    if scoped is None:
        scoped = read_scoped_vars(hosts.path)
    files = (hosts, *vars_files, *(file for _, _, file in scoped))
    problems = [*extra_problems, *(problem for file in files for problem in file.problems)]
    if hosts.encrypted:
        problems.append(
            Problem(
                hosts.path, None, None, None, "the hosts file is vault-encrypted: keep it plain"
            )
        )
    order = tuple(file.path for file in files)
    if not all(file.usable for file in files) or hosts.encrypted:
        raise InventoryError(sort_problems(problems, order))
    inventory, rule_problems = check(
        hosts.path,
        hosts.document,
        [(file.path, file.document) for file in vars_files],
        [
            ScopedVars(kind, name, file.path, file.document)
            for kind, name, file in scoped
            if not file.encrypted
        ],
    )
    problems = sort_problems([*problems, *rule_problems, *people_problems(inventory)], order)
    if problems:
        raise InventoryError(problems)
    return _build(inventory)


def load_cluster(path: Path) -> Cluster:
    """Load and validate the inventory at `path` (a directory or its hosts file).

    Raises InventoryError listing every problem found in every file, not just the first.
    """
    hosts_file, vars_files = resolve_inventory_paths(path)
    return cluster_from_documents(read_yaml(hosts_file), [read_yaml(file) for file in vars_files])
