"""Molecule-only: an admin declared in the inventory logs in from one node to
every other node with its key and gets sudo; password logins are refused.

The key pair exists only in this scenario (prepare.yml made it on base-login01).
"""

from __future__ import annotations

testinfra_hosts = ["ansible://base-login01"]

KEY = "/root/admin_test_key"
SSH = "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout=5"


def _peers(inventory) -> list[str]:
    return [name for name in inventory.hosts() if name != inventory.name]


def test_admin_logs_in_to_the_other_nodes_with_its_key_and_gets_sudo(host, inventory):
    assert _peers(inventory)
    for peer in _peers(inventory):
        # By the peer's cluster name, as /etc/hosts resolves it.
        result = host.run(
            f"{SSH} -i {KEY} molecule-admin@%s 'hostname; sudo -n true && echo sudo-ok'",
            f"{peer}.{inventory.domain}",
        )
        assert result.rc == 0, f"{peer}: {result.stderr}"
        assert result.stdout.split() == [peer, "sudo-ok"]


def test_password_login_is_refused(host, inventory):
    for peer in _peers(inventory):
        for user in ("molecule-admin", "root"):
            result = host.run(
                f"{SSH} -o PreferredAuthentications=password,keyboard-interactive "
                "-o PubkeyAuthentication=no %s@%s true",
                user,
                peer,
            )
            assert result.rc != 0
            assert "Permission denied" in result.stderr, result.stderr
