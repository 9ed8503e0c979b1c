"""Molecule-only: changes to the declaration reach the directory and, in the
same run, every client (the server's change flushes the sssd caches). Bob is
dropped from the declaration (locked, kept, out of every group, keys kept)
and alice's key and name change; then the original declaration returns."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.playbook_helpers import run_playbook

testinfra_hosts = ["ansible://ldap-gpu01"]

SCENARIO = Path(__file__).resolve().parents[1]
KEYS = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))


def _declaration(changed: bool) -> dict:
    def key(name: str) -> str:
        return (KEYS / f"{name}.pub").read_text().strip()

    users = [
        {
            "name": "alice",
            "uid": 10001,
            "full_name": "Alice Renamed" if changed else "Alice Example",
            "ssh_keys": [key("carol") if changed else key("alice")],
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
    if not changed:
        users.insert(
            1,
            {
                "name": "bob",
                "uid": 10002,
                "full_name": "Bob",
                "ssh_keys": [key("bob")],
                "projects": ["nlp"],
            },
        )
    return {"cluster_users": users}


def _converge(tmp_path: Path, changed: bool) -> str:
    extra = tmp_path / f"declaration-{changed}.json"
    extra.write_text(json.dumps(_declaration(changed)))
    rc, output = run_playbook(SCENARIO / "directory.yml", "-e", f"@{extra}")
    assert rc == 0, output[-4000:]
    return output


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("declaration")
    yield _converge(tmp, changed=True)
    _converge(tmp, changed=False)


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
