"""Ansible's `mitogen_linear` strategy, found through the project's strategy_plugins path.

mitogen ships the plugin inside its package; pointing ansible.cfg at site-packages would tie
the configuration to one virtualenv's layout. This module re-exports it, so any environment
where `ansible_mitogen` imports (the project's dependencies) can use it.

One change: the list of installed collections is read once per run, in the strategy's own
process, instead of once for every task that calls a collection's module. mitogen keeps that
list per module path in a cache that lives in the task's worker process; Ansible forks a new
worker for every task and host, so the cache never survives, and each call of, say,
community.general.ldap_attrs imports every collection of the `ansible` bundle (about 90) and
parses its metadata again. A profile of a no-change re-run of the sandbox put about a tenth of
the controller's CPU time there. The workers are forked from this process, so they inherit the
list (and the imported collection packages) read here.
"""

from __future__ import annotations

from typing import Any

import ansible.collections.list
import ansible_mitogen.loaders
import ansible_mitogen.planner
import ansible_mitogen.strategy

_Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)

_collection_dirs: tuple[str, ...] | None = None


def collection_dirs() -> tuple[str, ...]:
    """Every installed collection's directory, read on the first call of this process."""
    global _collection_dirs  # one list per run, shared by the forked workers
    if _collection_dirs is None:
        _collection_dirs = tuple(
            path.decode("utf-8") for path in ansible.collections.list.list_collection_dirs()
        )
    return _collection_dirs


def load_collections(invocation: Any) -> None:
    """mitogen's planner._load_collections, from the list read once (same paths, same order)."""
    invocation._extra_sys_paths.update(collection_dirs())


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Linear):  # type: ignore[misc,valid-type]
    """The linear strategy, with mitogen's persistent per-host interpreters."""

    def run(self, iterator: Any, play_context: Any) -> Any:
        collection_dirs()  # before the first worker is forked
        if hasattr(ansible_mitogen.planner, "_load_collections"):
            ansible_mitogen.planner._load_collections = load_collections
        return super().run(iterator, play_context)
