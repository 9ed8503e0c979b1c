"""Molecule-only: an admin declared in the inventory logs in from another node.

The key pair exists only in this scenario (prepare.yml made it on login01).
"""

testinfra_hosts = ["ansible://login01"]


def test_admin_logs_in_to_the_other_node_with_its_key_and_gets_sudo(host):
    result = host.run(
        "ssh -i /root/admin_test_key -o BatchMode=yes -o StrictHostKeyChecking=accept-new "
        "molecule-admin@gpu01 'hostname; sudo -n true && echo sudo-ok'"
    )
    assert result.rc == 0, result.stderr
    assert result.stdout.split() == ["gpu01", "sudo-ok"]


def test_password_login_is_refused(host):
    result = host.run(
        "ssh -o BatchMode=yes -o PreferredAuthentications=password -o PubkeyAuthentication=no "
        "-o StrictHostKeyChecking=accept-new molecule-admin@gpu01 true"
    )
    assert result.rc != 0
    assert "Permission denied" in result.stderr
