"""Which groups a role serves is declared once, in the role (`<role>_groups`).

playbooks/site.yml scopes its plays by group (a node never evaluates a role it does not run),
so the group lists appear there too; the README's role table says it in words. These tests
hold both to the roles' declarations, evaluated on the example inventory by Ansible's own
templating, so a role moved to other nodes in one place and not the others fails here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpucluster.role_settings import render
from tests.unit.conftest import EXAMPLE

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "playbooks" / "site.yml"
README = ROOT / "README.md"
# The README's words for the inventory groups.
GROUP_WORDS = {
    "every node": "all",
    "management": "management",
    "gpu": "gpu",
    "login": "login",
    "file server": "fileserver",
    "backup": "backup",
}


@pytest.fixture(scope="module")
def inventory_groups() -> dict[str, list[str]]:
    """Group name -> hosts of the example inventory, as Ansible reads it."""
    tool = str(Path(sys.executable).parent / "ansible-inventory")
    listing = subprocess.run(
        [tool, "-i", str(EXAMPLE), "--list"], capture_output=True, text=True, check=True
    )
    data = json.loads(listing.stdout)

    def hosts_of(group: str) -> list[str]:
        entry = data.get(group, {})
        hosts = list(entry.get("hosts", []))
        for child in entry.get("children", []):
            hosts += hosts_of(child)
        return hosts

    return {group: sorted(set(hosts_of(group))) for group in data if group != "_meta"}


def declared_groups(role: str) -> list[str]:
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    return list(defaults[f"{role}_groups"])


def hosts_in(groups: list[str], inventory_groups: dict[str, list[str]]) -> set[str]:
    return {host for group in groups for host in inventory_groups.get(group, [])}


def site_role_hosts(inventory_groups: dict[str, list[str]]) -> dict[str, set[str]]:
    """Role -> the hosts site.yml runs its main tasks on, evaluated like Ansible would."""
    group_names = {
        host: sorted(group for group, members in inventory_groups.items()
                     if host in members and group not in ("all", "ungrouped"))
        for host in inventory_groups["all"]
    }  # fmt: skip
    result: dict[str, set[str]] = {}
    for play in yaml.safe_load(SITE.read_text()):
        if "hosts" not in play:
            continue  # roll-mark.yml and roll.yml: the roll over the nodes left pending, no role
        play_hosts = render({"groups": inventory_groups}).template(play["hosts"])
        for entry in play.get("roles", []):
            entry = entry if isinstance(entry, dict) else {"role": entry}
            condition = entry.get("when")
            for host in play_hosts:
                settings: dict[str, Any] = {"groups": inventory_groups,
                                            "group_names": group_names[host]}  # fmt: skip
                runs = condition is None or render(settings).template("{{ " + condition + " }}")
                if runs:
                    result.setdefault(entry["role"], set()).add(host)
    return result


def test_site_runs_every_role_exactly_on_the_groups_it_declares(
    inventory_groups: dict[str, list[str]],
) -> None:
    site = site_role_hosts(inventory_groups)
    assert site, "no role found in site.yml"
    for role, hosts in site.items():
        assert hosts == hosts_in(declared_groups(role), inventory_groups), role


def readme_runs_on() -> dict[str, str]:
    rows = re.findall(r"^\| \[(\w+)\]\([^)]*\) \| ([^|]+) \|", README.read_text(), re.MULTILINE)
    return dict(rows)


def test_the_readme_role_table_says_the_same_groups() -> None:
    table = readme_runs_on()
    assert table, "no role table found in README.md"
    for role, words in table.items():
        main_clause = words.split("(")[0].strip().lower()
        parts = re.split(r",\s*|\s+and\s+", main_clause)
        groups = {GROUP_WORDS[part.removesuffix(" nodes").strip()] for part in parts}
        assert groups == set(declared_groups(role)), f"README row of {role}: {words!r}"
