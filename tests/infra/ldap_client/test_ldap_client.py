"""Role ldap_client: every node resolves and admits the declared people
through sssd, from the directory on the management node, over TLS that
verifies against the cluster CA; the access decision per node group comes
from PAM itself (sssctl user-checks), the SSH keys from sss_ssh_authorizedkeys."""

from __future__ import annotations

import pytest

testinfra_hosts = ["ansible://all"]

CA = "/etc/gpucluster/pki/ca.crt"
TLS_ENV = f"LDAPTLS_CACERT={CA} LDAPTLS_REQCERT=demand"


def _base_dn(domain: str) -> str:
    return ",".join(f"dc={part}" for part in domain.split("."))


def _server(inventory) -> str:
    return inventory.first_of("management")


def _server_names(inventory) -> list[str]:
    server = _server(inventory)
    names = [f"{server}.{inventory.domain}"]
    if "storage_address" in inventory.vars_of(server):
        names.append(f"{server}-storage.{inventory.domain}")
    return names


def _people(inventory) -> list[dict]:
    return inventory.resolved("cluster_users", []) or []


def _admins(inventory) -> str:
    return inventory.setting("cluster_admins")["name"]


def _may_log_in(inventory, user: dict) -> bool:
    if user.get("locked", False):
        return False
    if user.get("admin", False):
        return True
    groups = inventory.vars.get("group_names", [])
    open_to_projects = inventory.setting("ldap_client_login_groups_all_projects")
    return bool(set(open_to_projects) & set(groups)) and bool(user.get("projects"))


def test_sssd_runs(host):
    assert host.service("sssd").is_running
    assert host.service("sssd").is_enabled


@pytest.mark.parametrize("which", [0, 1], ids=["management-name", "storage-name"])
def test_starttls_on_389_verifies_against_the_cluster_ca(host, inventory, which):
    names = _server_names(inventory)
    if which >= len(names):
        pytest.skip("not executed here: the LDAP server has no storage address")
    result = host.run(f"{TLS_ENV} ldapwhoami -ZZ -x -H ldap://%s", names[which])
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "anonymous"


@pytest.mark.parametrize("which", [0, 1], ids=["management-name", "storage-name"])
def test_ldaps_on_636_verifies_against_the_cluster_ca(host, inventory, which):
    names = _server_names(inventory)
    if which >= len(names):
        pytest.skip("not executed here: the LDAP server has no storage address")
    result = host.run(
        "openssl s_client -connect %s:636 -CAfile %s -verify_return_error -verify_hostname %s"
        " </dev/null",
        names[which],
        CA,
        names[which],
    )
    assert result.rc == 0, result.stderr
    assert "Verify return code: 0 (ok)" in result.stdout


def test_a_name_outside_the_certificate_is_refused(host, inventory):
    """The client really checks the name: the server's address is not in the certificate."""
    server = _server(inventory)
    address = inventory.management_address(server)
    result = host.run(f"{TLS_ENV} ldapwhoami -ZZ -x -H ldap://%s", address)
    assert result.rc != 0
    assert "ldap_start_tls" in result.stderr, result.stderr


def test_no_password_travels_without_tls(host, inventory):
    result = host.run(
        "ldapwhoami -x -H ldap://%s -D cn=nobody,%s -w wrong",
        _server_names(inventory)[0],
        _base_dn(inventory.domain),
    )
    assert result.rc == 13, result.stderr  # confidentiality required


def test_anonymous_clients_see_nothing(host, inventory):
    result = host.run(
        f"{TLS_ENV} ldapsearch -ZZ -x -LLL -H ldap://%s -b %s '(objectClass=*)' userPassword uid",
        _server_names(inventory)[0],
        _base_dn(inventory.domain),
    )
    # slapd answers "insufficient access" (50) or "no such object" (32): the
    # base entry itself is not disclosed. The service account's search below
    # shows the same search returns entries to a bound reader.
    assert result.rc in (0, 32, 50), result.stderr
    assert result.stdout.strip() == ""


def test_service_account_reads_posix_attributes_but_no_password_hashes(host, inventory):
    """sssd's own account (its password from sssd.conf, never on a command line)."""
    people = _people(inventory)
    assert people
    name = people[0]["name"]
    base = _base_dn(inventory.domain)
    result = host.run(
        "umask 077; f=$(mktemp); "
        "sed -n 's/^ldap_default_authtok = //p' /etc/sssd/sssd.conf | tr -d '\\n' > $f; "
        'dn=$(sed -n "s/^ldap_default_bind_dn = //p" /etc/sssd/sssd.conf); '
        f'{TLS_ENV} ldapsearch -ZZ -x -LLL -o ldif-wrap=no -H ldap://%s -D "$dn" -y $f'
        " -b ou=people,%s '(uid=%s)' uidNumber userPassword shadowExpire;"
        " rc=$?; rm -f $f; exit $rc",
        _server_names(inventory)[0],
        base,
        name,
    )
    assert result.rc == 0, result.stderr
    assert f"uidNumber: {people[0]['uid']}" in result.stdout
    assert "userPassword" not in result.stdout
    assert "shadowExpire" not in result.stdout


def test_people_resolve_from_ldap(host, inventory):
    people_gid = inventory.setting("cluster_people")["gid"]
    for user in _people(inventory):
        # -s sss: the answer comes from sssd, not from /etc/passwd.
        entry = host.check_output("getent -s sss passwd %s", user["name"]).split(":")
        assert entry[2] == str(user["uid"])
        assert entry[3] == str(people_gid)
        assert entry[5] == f"/home/{user['name']}"
        shell = "/usr/sbin/nologin" if user.get("locked", False) else "/bin/bash"
        assert entry[6] == shell
        assert not host.run("grep -q '^%s:' /etc/passwd", user["name"]).succeeded


def test_projects_resolve_from_ldap_with_their_active_members(host, inventory):
    people = _people(inventory)
    projects = inventory.vars.get("cluster_projects", [])
    assert projects
    for project in projects:
        entry = host.check_output("getent -s sss group %s", project["name"]).split(":")
        assert entry[2] == str(project["gid"])
        members = sorted(filter(None, entry[3].split(",")))
        expected = sorted(
            u["name"]
            for u in people
            if project["name"] in u.get("projects", []) and not u.get("locked", False)
        )
        assert members == expected, project["name"]


def test_access_per_node_group(host, inventory):
    """PAM's account phase for sshd, as sshd runs it, decides for each person."""
    for user in _people(inventory):
        result = host.run("sssctl user-checks -s sshd -a acct %s 2>&1", user["name"])
        allowed = "pam_acct_mgmt: Success" in result.stdout
        assert allowed == _may_log_in(inventory, user), (user["name"], result.stdout)


def test_local_users_are_not_judged_by_sssd(host):
    result = host.run("sssctl user-checks -s sshd -a acct root 2>&1")
    assert "pam_acct_mgmt: Success" in result.stdout, result.stdout


def test_ssh_keys_come_from_ldap(host, inventory):
    sshd = host.check_output("sshd -T -C user=nobody,host=localhost,addr=127.0.0.1")
    assert "authorizedkeyscommand /usr/bin/sss_ssh_authorizedkeys %u" in sshd
    assert "authorizedkeyscommanduser nobody" in sshd
    for user in _people(inventory):
        keys = host.run("sss_ssh_authorizedkeys %s", user["name"]).stdout.split("\n")
        assert sorted(filter(None, keys)) == sorted(user.get("ssh_keys", [])), user["name"]


def test_admins_and_only_admins_get_sudo(host, inventory):
    nopasswd = inventory.setting("ldap_client_admins_sudo_nopasswd")
    rule = "(ALL : ALL) NOPASSWD: ALL" if nopasswd else "(ALL : ALL) ALL"
    for user in _people(inventory):
        result = host.run("sudo -l -U %s", user["name"])
        admin = user.get("admin", False) and not user.get("locked", False)
        assert (rule in result.stdout) == admin, (user["name"], result.stdout)


def test_no_sssd_unit_failed(host):
    # Socket units for responders that sssd.conf also starts fail and degrade the node.
    failed = host.check_output("systemctl list-units --failed --plain --no-legend 'sssd*'")
    assert failed.strip() == "", failed
