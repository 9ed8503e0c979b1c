"""Molecule-only: changes to the declaration reach the directory and, in the
same run, every client (the server's change flushes the sssd caches). Bob is
dropped from the declaration (locked, kept, out of every group, keys kept)
and alice's key and name change. The changed declaration stays: these tests run after
every other check of the scenario (marker changes_state), and `molecule converge` brings
the original declaration back before a repeated verify."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.playbook_helpers import run_playbook

testinfra_hosts = ["ansible://ldap-gpu01"]
pytestmark = pytest.mark.changes_state

SCENARIO = Path(__file__).resolve().parents[1]
KEYS = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))


def _changed_declaration() -> dict:
    """The scenario's people with bob dropped and alice renamed, her key replaced by carol's."""

    def key(name: str) -> str:
        return (KEYS / f"{name}.pub").read_text().strip()

    users = [
        {
            "name": "alice",
            "uid": 10001,
            "full_name": "Alice Renamed",
            "ssh_keys": [key("carol")],
            "projects": ["vision"],
        },
        {
            "name": "carol",
            "uid": 10003,
            "full_name": "Carol Admin",
            "ssh_keys": [key("carol")],
            "admin": True,
        },
        {
            "name": "dave",
            "uid": 10004,
            "full_name": "Dave Locked",
            "ssh_keys": [key("dave")],
            "projects": ["vision"],
            "locked": True,
        },
    ]
    return {"cluster_users": users}


@pytest.fixture(scope="module")
def changed(tmp_path_factory) -> str:
    """The output of directory.yml converged with the changed declaration."""
    extra = tmp_path_factory.mktemp("declaration") / "declaration.json"
    extra.write_text(json.dumps(_changed_declaration()))
    rc, output = run_playbook(SCENARIO / "directory.yml", "-e", f"@{extra}")
    assert rc == 0, output[-4000:]
    return output


def test_dropped_person_is_locked_at_once_on_the_clients(host, changed):
    # No wait for a cache timeout: the run flushed sssd's cache on every client.
    assert host.check_output("getent -s sss passwd bob").split(":")[6] == "/usr/sbin/nologin"
    assert "bob" not in host.check_output("getent -s sss group nlp").split(":")[3].split(",")
    result = host.run("sssctl user-checks -s sshd -a acct bob 2>&1")
    assert "pam_acct_mgmt: Success" not in result.stdout
    # Kept, keys included: the person can be declared again.
    assert host.check_output("sss_ssh_authorizedkeys bob").strip() == (
        (KEYS / "bob.pub").read_text().strip()
    )


def test_changed_attributes_and_keys_reach_the_clients(host, changed):
    assert host.check_output("getent -s sss passwd alice").split(":")[4] == "Alice Renamed"
    keys = host.check_output("sss_ssh_authorizedkeys alice").strip()
    assert keys == (KEYS / "carol.pub").read_text().strip()


def test_the_changed_run_reported_the_cache_flush(changed):
    assert "Forget cached users and groups when the directory changed" in changed
    assert "changed: [ldap-gpu01]" in changed
