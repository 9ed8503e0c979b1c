"""The cluster-wide facts are written once, in role `cluster`, and every reader gets them.

A literal default typed again in a second role (the domain, the export root, the
people group's gid) keeps its old value when the first one changes; these tests
fail on such a copy and on a role that does not depend on `cluster`.

Every role depends on it, not only those that read a fact today: a role included by
another one (`include_role` of cluster_ca, common's hosts_file, registry's accounts) sees
only its own dependencies' defaults, so a value handed to it that refers to a cluster fact
is undefined there unless the included role depends on `cluster` itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gpucluster import role_settings

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
FACTS = yaml.safe_load((ROLES / "cluster" / "defaults" / "main.yml").read_text())
# The literal values of role cluster that no other role may spell out.
LITERALS = ["cluster.internal", "/srv/nfs", "'-storage'", "10000", "10001", "/.secrets'"]


def _role_files(role: Path) -> list[Path]:
    return [
        path
        for kind in ("defaults", "vars", "tasks", "templates", "handlers")
        for path in sorted((role / kind).rglob("*"))
        if path.is_file()
    ]


def _roles_except_cluster() -> list[Path]:
    return [ROLES / name for name in role_settings.role_names(ROLES) if name != "cluster"]


@pytest.mark.parametrize("role", _roles_except_cluster(), ids=lambda path: path.name)
def test_no_role_repeats_a_cluster_wide_default(role: Path) -> None:
    copies = [
        f"{path.relative_to(ROOT)}: {literal}"
        for path in _role_files(role)
        for literal in LITERALS
        if literal in path.read_text(encoding="utf-8")
    ]
    assert copies == []


@pytest.mark.parametrize("role", _roles_except_cluster(), ids=lambda path: path.name)
def test_every_role_depends_on_role_cluster(role: Path) -> None:
    dependencies = (
        yaml.safe_load((role / "meta" / "main.yml").read_text()).get("dependencies") or []
    )
    names = {entry["role"] if isinstance(entry, dict) else entry for entry in dependencies}
    assert "cluster" in names, f"{role.name}/meta/main.yml: add `- role: cluster` to dependencies"


def test_the_facts_are_read_by_some_role() -> None:
    """A fact no role reads any more is a stale default: remove it from role cluster."""
    text = "\n".join(
        path.read_text(encoding="utf-8")
        for role in _roles_except_cluster()
        for path in _role_files(role)
    )
    people_rules = (ROOT / "src" / "gpucluster" / "inventory" / "people_rules.py").read_text()
    derived = {"cluster_people_group_default", "cluster_admins_group_default"}
    unread = sorted(
        fact
        for fact in FACTS
        if fact not in derived and not re.search(rf"\b{fact}\b", text) and fact not in people_rules
    )
    assert unread == []


def test_the_facts_render_from_the_inventory_over_their_defaults() -> None:
    settings = role_settings.load(["cluster"], ROLES)
    facts = role_settings.render(
        {
            **settings.defaults,
            "cluster_domain": "ml.internal",
            "cluster_admins_group": {"gid": 20001},
            "registry_port": 5443,
            "inventory_dir": "/srv/inventory",
        }
    )
    assert facts.template("{{ cluster_admins }}") == {"name": "admins", "gid": 20001}
    assert facts.template("{{ cluster_people }}") == {"name": "people", "gid": 10000}
    assert facts.template("{{ cluster_registry_endpoint }}") == "registry.ml.internal:5443"
    assert facts.template("{{ cluster_export_root }}") == "/srv/nfs"
    assert facts.template("{{ cluster_secrets_dir }}") == "/srv/inventory/.secrets"
