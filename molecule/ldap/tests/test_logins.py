"""Molecule-only: real SSH logins from the controller with the people's
private keys (made by prepare.yml in the scenario's ephemeral directory, which
a real cluster's verify does not have), and password reads by a plain user
(the test gives two people passwords; the declaration has none)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import testinfra

testinfra_hosts = ["ansible://ldap-login01"]

KEYS = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
ADDRESSES = {
    "ldap-mgmt01": "10.241.0.10",
    "ldap-login01": "10.241.0.11",
    "ldap-gpu01": "10.241.0.21",
}
BASE = "dc=ml,dc=internal"
TLS_ENV = "LDAPTLS_CACERT=/etc/gpucluster/pki/ca.crt LDAPTLS_REQCERT=demand"


def ssh(user: str, node: str, command: str, key: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "ssh",
            "-i",
            str(KEYS / (key or user)),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=10",
            f"{user}@{ADDRESSES[node]}",
            command,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("node", ["ldap-login01", "ldap-gpu01"])
def test_project_member_logs_in_by_key_and_has_the_project_group(node):
    result = ssh("alice", node, "id; test -d $HOME && stat -c %U $HOME")
    assert result.returncode == 0, result.stderr
    assert "(vision)" in result.stdout
    assert "(nlp)" not in result.stdout
    assert result.stdout.splitlines()[-1] == "alice"  # home made by pam_mkhomedir


def test_member_of_another_project_logs_in_without_the_first_projects_group():
    result = ssh("bob", "ldap-gpu01", "id")
    assert result.returncode == 0, result.stderr
    assert "(nlp)" in result.stdout
    assert "(vision)" not in result.stdout


@pytest.mark.parametrize("node", ["ldap-login01", "ldap-gpu01", "ldap-mgmt01"])
def test_locked_person_cannot_log_in(node):
    result = ssh("dave", node, "id")
    assert result.returncode != 0
    assert "uid=" not in result.stdout


def test_plain_user_cannot_log_in_to_the_management_node():
    result = ssh("alice", "ldap-mgmt01", "id")
    assert result.returncode != 0
    assert "uid=" not in result.stdout


def test_admin_logs_in_to_the_management_node_and_uses_sudo():
    result = ssh("carol", "ldap-mgmt01", "id -nG; sudo -n id -u")
    assert result.returncode == 0, result.stderr
    assert "admins" in result.stdout.split("\n")[0].split()
    assert result.stdout.splitlines()[-1] == "0"


def test_plain_user_gets_no_sudo():
    result = ssh("alice", "ldap-login01", "sudo -n id -u")
    assert result.returncode != 0


def test_another_persons_key_is_refused():
    result = ssh("alice", "ldap-login01", "id", key="bob")
    assert result.returncode != 0
    assert "uid=" not in result.stdout


@pytest.fixture(scope="module")
def passwords():
    """Give alice and bob passwords (as root on the server, over ldapi)."""
    server = testinfra.get_host(
        "ansible://ldap-mgmt01", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"]
    )
    for name in ("alice", "bob"):
        server.run_expect(
            [0],
            "ldappasswd -Q -Y EXTERNAL -H ldapi:/// -s %s uid=%s,ou=people,%s",
            f"test-{name}-pw",
            name,
            BASE,
        )
    return {"alice": "test-alice-pw", "bob": "test-bob-pw"}


def _as(host, user: str, password: str, target: str) -> str:
    return host.check_output(
        f"{TLS_ENV} ldapsearch -ZZ -x -LLL -H ldap://ldap-mgmt01.ml.internal"
        " -D uid=%s,ou=people,%s -w %s -b uid=%s,ou=people,%s userPassword uidNumber",
        user,
        BASE,
        password,
        target,
        BASE,
    )


def test_plain_user_reads_own_hash_but_not_anothers(host, passwords):
    own = _as(host, "alice", passwords["alice"], "alice")
    assert "userPassword" in own
    other = _as(host, "alice", passwords["alice"], "bob")
    assert "uidNumber: 10002" in other  # the entry is visible...
    assert "userPassword" not in other  # ...its hash is not
