"""Nodes that lag behind the inventory, remembered until a later run catches them up.

A node unreachable during add-node keeps an /etc/hosts without the new node; one unreachable
during a people change keeps old login rules. The run that left it behind may be long out of
sight when someone looks, so each such node is recorded in the inventory's state directory
(lagging.json) with what it missed and the command that catches it up, and `status` lists it.

An entry is kept per node and per playbook: a later run of the same playbook, or a full install
(site.yml covers everything), in which the node succeeds, clears it. Dry runs (--check) and runs
that only look (status, check, backups) neither add nor clear anything.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gpucluster import paths
from gpucluster.run_result import RunResult

LAGGING_FILE = "lagging.json"
SITE_PLAYBOOK = "site.yml"
CONVERGING_PLAYBOOKS = frozenset(
    {SITE_PLAYBOOK, "add-node.yml", "remove-node.yml", "replace-node.yml", "people.yml"}
)


@dataclass(frozen=True)
class LaggingNode:
    """What one node missed in one run, and how to catch it up."""

    host: str
    playbook: str
    status: str
    missed: str  # one line, from Lagging.describe()
    since: str  # when the run that left it behind started
    command: str
    run_dir: str
    catch_up: str


Store = dict[str, dict[str, LaggingNode]]  # host -> playbook -> entry


def _file(inventory: Path) -> Path:
    return paths.inventory_state_dir(inventory) / LAGGING_FILE


def load(inventory: Path) -> Store:
    """Every recorded lagging node of this inventory (an unreadable file reads as none)."""
    try:
        raw = json.loads(_file(inventory).read_text())
    except (OSError, ValueError):
        return {}
    store: Store = {}
    for host, entries in raw.items() if isinstance(raw, dict) else ():
        for playbook, entry in entries.items() if isinstance(entries, dict) else ():
            try:
                store.setdefault(host, {})[playbook] = LaggingNode(**entry)
            except TypeError:
                continue
    return store


def _save(inventory: Path, store: Store) -> None:
    data: dict[str, Any] = {
        host: {playbook: asdict(entry) for playbook, entry in entries.items()}
        for host, entries in sorted(store.items())
        if entries
    }
    target = _file(inventory)
    temporary = target.with_name(f".{LAGGING_FILE}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    temporary.replace(target)


def playbook_name(playbook: str) -> str:
    """playbooks/<name> as the store names it (an absolute path keeps only its file name)."""
    return Path(playbook).name


def record(
    inventory: Path,
    result: RunResult,
    *,
    playbook: str,
    command: str,
    started: str,
    catch_up: str,
) -> Store:
    """Clear what this run caught up and add the nodes it left behind; the new store.

    `catch_up` is the command that brings a lagging node up to date, with `{hosts}` where the
    node names go.
    """
    name = playbook_name(playbook)
    if name not in CONVERGING_PLAYBOOKS:
        return load(inventory)
    store = load(inventory)
    for host, stats in result.hosts.items():
        if not stats.healthy or host not in store:
            continue
        if name == SITE_PLAYBOOK:
            store[host].clear()
        else:
            store[host].pop(name, None)
    for lagging in result.lagging():
        store.setdefault(lagging.host, {})[name] = LaggingNode(
            host=lagging.host,
            playbook=name,
            status=lagging.status,
            missed=lagging.describe(),
            since=started,
            command=command,
            run_dir=str(result.run_dir),
            catch_up=catch_up.format(hosts=lagging.host),
        )
    _save(inventory, store)
    return store


def forget(inventory: Path, host: str) -> None:
    """Drop a node's entries (it left the inventory: nothing to catch up)."""
    store = load(inventory)
    if store.pop(host, None) is not None:
        _save(inventory, store)


def entries(inventory: Path, hosts: set[str] | None = None) -> list[LaggingNode]:
    """The recorded entries, oldest first; only those of `hosts` when given."""
    found = [
        entry
        for host, by_playbook in load(inventory).items()
        if hosts is None or host in hosts
        for entry in by_playbook.values()
    ]
    return sorted(found, key=lambda entry: (entry.since, entry.host))
