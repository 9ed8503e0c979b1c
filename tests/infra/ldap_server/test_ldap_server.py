"""Role ldap_server: slapd on the management node holds the declared people
and projects, with TLS from the cluster CA, hashed secrets, the access rules
and the indexes, as slapd itself reports them (cn=config and the directory,
read as root over ldapi)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://management"]

CA = "/etc/gpucluster/pki/ca.crt"
TLS_ENV = f"LDAPTLS_CACERT={CA} LDAPTLS_REQCERT=demand"


def _base_dn(domain: str) -> str:
    return ",".join(f"dc={part}" for part in domain.split("."))


def _search(host, base: str, filt: str, *attrs: str, scope: str = "sub") -> list[dict]:
    """Entries as {attr: [values]}, read as root over ldapi (EXTERNAL)."""
    out = host.check_output(
        "ldapsearch -Q -LLL -o ldif-wrap=no -Y EXTERNAL -H ldapi:/// -s %s -b %s %s"
        + " %s" * len(attrs),
        scope,
        base,
        filt,
        *attrs,
    )
    entries = []
    for block in out.split("\n\n"):
        entry: dict[str, list[str]] = {}
        for line in block.splitlines():
            if ":: " in line:
                key, value = line.split(":: ", 1)
                entry.setdefault(key, []).append(base64.b64decode(value).decode())
            elif ": " in line:
                key, value = line.split(": ", 1)
                entry.setdefault(key, []).append(value)
        if entry:
            entries.append(entry)
    return entries


def _database(host, inventory) -> dict:
    found = _search(
        host, "cn=config", f"(olcSuffix={_base_dn(inventory.domain)})", "*", scope="one"
    )
    assert len(found) == 1, f"no slapd database for {_base_dn(inventory.domain)}"
    return found[0]


def _people(inventory) -> list[dict]:
    return inventory.resolved("cluster_users", []) or []


def test_slapd_listens_for_ldap_and_ldaps(host):
    assert host.service("slapd").is_running
    assert host.service("slapd").is_enabled
    assert host.socket("tcp://0.0.0.0:389").is_listening
    assert host.socket("tcp://0.0.0.0:636").is_listening


def test_tls_uses_the_cluster_ca_certificate(host):
    config = _search(host, "cn=config", "(objectClass=*)", "olcTLSCertificateFile", scope="base")
    certificate = config[0]["olcTLSCertificateFile"][0]
    host.run_expect([0], "openssl verify -CAfile /etc/gpucluster/pki/ca.crt %s", certificate)


def test_secrets_are_stored_hashed(host, inventory):
    database = _database(host, inventory)
    assert database["olcRootPW"][0].startswith("{SSHA}")
    services = _search(
        host, f"ou=services,{_base_dn(inventory.domain)}", "(userPassword=*)", "userPassword"
    )
    assert services, "no service account with a password"
    assert all(s["userPassword"][0].startswith("{SSHA}") for s in services)


def test_password_hashes_readable_only_by_self(host, inventory):
    access = " ".join(_database(host, inventory)["olcAccess"])
    assert "to attrs=userPassword by self write by anonymous auth by * none" in access


def test_equality_indexes(host, inventory):
    indexes = set(_database(host, inventory)["olcDbIndex"])
    for attr in ("uid", "uidNumber", "gidNumber", "memberUid", "cn", "objectClass"):
        assert f"{attr} eq" in indexes


def test_openssh_lpk_schema_is_loaded(host):
    found = _search(host, "cn=schema,cn=config", "(cn={*}openssh-lpk)", "olcObjectClasses")
    assert found and "ldapPublicKey" in found[0]["olcObjectClasses"][0]


def test_people_match_the_declaration(host, inventory):
    base = _base_dn(inventory.domain)
    gid = str(inventory.setting("cluster_people")["gid"])
    people = _people(inventory)
    assert people, "the inventory declares nobody"
    for user in people:
        found = _search(host, f"ou=people,{base}", f"(uid={user['name']})", "*")
        assert len(found) == 1, user["name"]
        entry = found[0]
        assert entry["uidNumber"] == [str(user["uid"])]
        assert entry["gidNumber"] == [gid]
        assert entry["homeDirectory"] == [f"/home/{user['name']}"]
        assert entry["cn"] == [user.get("full_name", user["name"])]
        assert sorted(entry.get("sshPublicKey", [])) == sorted(user.get("ssh_keys", []))
        if user.get("locked", False):
            assert entry["loginShell"] == ["/usr/sbin/nologin"]
            assert entry["shadowExpire"] == ["1"]
        else:
            assert entry["loginShell"] == ["/bin/bash"]
            assert "shadowExpire" not in entry


def test_people_in_the_directory_but_not_declared_are_locked(host, inventory):
    base = _base_dn(inventory.domain)
    declared = {user["name"] for user in _people(inventory)}
    for entry in _search(host, f"ou=people,{base}", "(objectClass=posixAccount)", "*"):
        if entry["uid"][0] not in declared:
            assert entry["loginShell"] == ["/usr/sbin/nologin"], entry["uid"]
            assert entry["shadowExpire"] == ["1"], entry["uid"]


def test_groups_and_projects_have_exactly_the_active_members(host, inventory):
    base = _base_dn(inventory.domain)
    people = _people(inventory)
    active = [u for u in people if not u.get("locked", False)]
    admins = inventory.setting("cluster_admins")["name"]
    expected = {admins: sorted(u["name"] for u in active if u.get("admin", False))}
    for project in inventory.vars.get("cluster_projects", []):
        expected[project["name"]] = sorted(
            u["name"] for u in active if project["name"] in u.get("projects", [])
        )
    groups = {
        e["cn"][0]: sorted(e.get("memberUid", []))
        for e in _search(host, base, "(objectClass=posixGroup)", "cn", "memberUid")
    }
    for name, members in expected.items():
        assert groups.get(name) == members, name
    locked = {u["name"] for u in people if u.get("locked", False)}
    for name, members in groups.items():
        assert not locked & set(members), f"locked people in {name}"


def _reader_dn(inventory) -> str:
    return inventory.setting("ldap_server_reader_dn")


def _reader_password(inventory) -> str:
    """The service account's real password, from the controller's secrets dir
    (the file role ldap_server generated), resolved as the role resolves it."""
    secrets = inventory.setting("ldap_server_secrets_dir")
    password_file = Path(secrets) / "ldap_reader_password"
    if not password_file.is_file():
        pytest.skip(f"not executed here: no {password_file} on this controller")
    return password_file.read_text().split()[0]


@contextlib.contextmanager
def _password_file(host, password: str) -> Iterator[str]:
    """The password in a 0600 file on the node (copy module, which hides its
    content), never on a command line; removed afterwards."""
    path = host.check_output("mktemp /tmp/gpucluster-ldap-test.XXXXXX")
    try:
        host.ansible("copy", f"content={password} dest={path} mode=0600", check=False)
        yield path
    finally:
        host.run("rm -f %s", path)


def _reader_bind(host, inventory, starttls: bool) -> tuple[int, str]:
    """Simple bind as the service account over ldap:// (389) to this node's
    own name, with or without StartTLS: rc and output, the password masked."""
    password = _reader_password(inventory)
    with _password_file(host, password) as path:
        result = host.run(
            f"{TLS_ENV} ldapwhoami {'-ZZ ' if starttls else ''}-x -H ldap://%s -D %s -y %s",
            f"{inventory.name}.{inventory.domain}",
            _reader_dn(inventory),
            path,
        )
    return result.rc, (result.stdout + result.stderr).replace(password, "***")


def test_security_strength_is_required_globally(host):
    """Overall strength (ssf=), not tls=/transport=: those count one layer
    only and would refuse root's ldapi (no TLS) or every TLS client."""
    config = _search(
        host, "cn=config", "(objectClass=*)", "olcSecurity", "olcLocalSSF", scope="base"
    )[0]
    security = dict(value.split("=", 1) for value in config.get("olcSecurity", []))
    local = int(config.get("olcLocalSSF", ["71"])[0])
    # Plain 389 (strength 0) must not pass; ldapi (root's access) must.
    assert 1 <= int(security.get("ssf", 0)) <= local, security
    assert 1 <= int(security.get("simple_bind", 0)) <= local, security
    assert "tls" not in security and "transport" not in security, security


def test_the_readers_password_is_refused_without_tls(host, inventory):
    """The real password, plain ldap:// and no StartTLS: slapd refuses the bind."""
    rc, output = _reader_bind(host, inventory, starttls=False)
    assert rc == 13, output  # LDAP_CONFIDENTIALITY_REQUIRED
    assert "confidentiality required" in output.lower(), output


def test_the_readers_password_binds_with_starttls(host, inventory):
    rc, output = _reader_bind(host, inventory, starttls=True)
    assert rc == 0, output
    assert output.strip().lower() == f"dn:{_reader_dn(inventory)}".lower(), output


def test_no_operation_is_answered_without_tls(host, inventory):
    """Not only binds: an anonymous search of the root DSE over plain 389 is refused too."""
    result = host.run(
        "ldapsearch -x -LLL -H ldap://%s -s base -b '' '(objectClass=*)' namingContexts",
        f"{inventory.name}.{inventory.domain}",
    )
    output = result.stdout + result.stderr
    assert result.rc == 13, output  # LDAP_CONFIDENTIALITY_REQUIRED
    assert "confidentiality required" in output.lower(), output
    assert "namingContexts" not in result.stdout


def test_root_still_binds_over_ldapi(host):
    """ldapi has no TLS layer: the requirement must admit it (local strength)."""
    result = host.run("ldapwhoami -Q -Y EXTERNAL -H ldapi:///")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "dn:gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"
