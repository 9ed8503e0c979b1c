"""The project's mitogen_linear strategy: collections are listed once per run, with the
same result mitogen's own per-task listing gives."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ansible_mitogen.planner
import pytest
from ansible.plugins.loader import init_plugin_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "mitogen_linear", ROOT / "plugins" / "strategy" / "mitogen_linear.py"
)
assert spec and spec.loader
mitogen_linear = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mitogen_linear)


class Invocation:
    """The one attribute of mitogen's Invocation that _load_collections fills."""

    def __init__(self) -> None:
        self._extra_sys_paths: set[str] = set()


@pytest.fixture(autouse=True, scope="module")
def collection_finder():
    """Ansible's collection finder, as every Ansible command installs it when it starts
    (unless an earlier test of this session already did)."""
    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader()


def test_the_paths_are_those_mitogen_lists_itself():
    own, mitogens = Invocation(), Invocation()
    mitogen_linear.load_collections(own)
    ansible_mitogen.planner._load_collections(mitogens)
    assert own._extra_sys_paths == mitogens._extra_sys_paths
    # The bundle's collections, among them those the roles call (community.general's ldap_*).
    assert any(path.endswith("community/general") for path in own._extra_sys_paths)


def test_the_list_is_read_once():
    first = mitogen_linear.collection_dirs()
    assert mitogen_linear.collection_dirs() is first


def test_importing_the_plugin_patches_nothing():
    # Only the strategy's run() swaps the function in, for the run it drives.
    assert ansible_mitogen.planner._load_collections is not mitogen_linear.load_collections
