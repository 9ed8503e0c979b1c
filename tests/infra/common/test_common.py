"""Role common: names, admins, sshd, time sync and kernel settings on every node."""

from __future__ import annotations

import pytest

testinfra_hosts = ["ansible://all"]


def test_host_name_is_the_inventory_name(host, inventory):
    assert host.check_output("hostname") == inventory.setting("common_hostname")


def test_hosts_file_has_one_managed_block(host):
    content = host.file("/etc/hosts").content_string
    assert content.count("# BEGIN gpucluster nodes") == 1
    assert content.count("# END gpucluster nodes") == 1


def test_every_node_resolves_every_node_by_both_names(host, inventory):
    suffix = inventory.setting("common_storage_hostname_suffix")
    for other in inventory.hosts():
        other_vars = inventory.vars_of(other)
        expected = {
            other: inventory.management_address(other),
            f"{other}.{inventory.domain}": inventory.management_address(other),
        }
        if "storage_address" in other_vars:
            storage = str(other_vars["storage_address"])
            expected[f"{other}{suffix}"] = storage
            expected[f"{other}{suffix}.{inventory.domain}"] = storage
        for name, address in expected.items():
            resolved = host.run("getent hosts %s", name)
            assert resolved.rc == 0, f"{inventory.name} cannot resolve {name}"
            assert resolved.stdout.split()[0] == address, (name, resolved.stdout)


def test_aliases_resolve_to_their_node(host, inventory):
    aliases = inventory.setting("common_hosts_aliases")
    if not aliases:
        pytest.skip("not executed: the inventory declares no common_hosts_aliases")
    for alias in aliases:
        target = inventory.vars_of(alias["host"])
        if alias.get("network", "management") == "storage":
            address = str(target["storage_address"])
        else:
            address = inventory.management_address(alias["host"])
        resolved = host.run("getent hosts %s", alias["name"])
        assert resolved.rc == 0, f"{inventory.name} cannot resolve {alias['name']}"
        assert resolved.stdout.split()[0] == address, (alias["name"], resolved.stdout)


def test_admin_group_has_passwordless_sudo(host, inventory):
    group = inventory.setting("common_admin_group")
    sudoers = host.file("/etc/sudoers.d/gpucluster-admins")
    assert sudoers.mode == 0o440
    assert sudoers.contains(f"^%{group} ALL=(ALL:ALL) NOPASSWD: ALL$")
    assert host.run("visudo -cf /etc/sudoers.d/gpucluster-admins").rc == 0
    assert host.group(group).exists


def test_declared_admins_exist_with_only_their_keys(host, inventory):
    group = inventory.setting("common_admin_group")
    for admin in inventory.setting("common_admin_users"):
        user = host.user(admin["name"])
        if admin.get("state", "present") == "absent":
            assert not user.exists
            continue
        assert user.exists and group in user.groups
        # sudo as that user (no password, no tty), as the admin will use it.
        assert host.run("runuser -u %s -- sudo -n true", admin["name"]).rc == 0
        if admin.get("ssh_keys"):
            keys = host.file(f"{user.home}/.ssh/authorized_keys").content_string
            assert sorted(k.strip() for k in keys.splitlines() if k.strip()) == sorted(
                k.strip() for k in admin["ssh_keys"]
            )


def test_sshd_effective_settings_are_hardened(host, inventory):
    effective = dict(
        line.split(" ", 1) for line in host.check_output("sshd -T").splitlines() if " " in line
    )
    root_login = inventory.setting("common_ssh_permit_root_login")
    if root_login == "prohibit-password":
        assert effective["permitrootlogin"] in ("without-password", "prohibit-password")
    else:
        assert effective["permitrootlogin"] == root_login
    passwords = inventory.setting("common_ssh_password_authentication")
    assert effective["passwordauthentication"] == ("yes" if passwords else "no")
    assert effective["maxauthtries"] == str(inventory.setting("common_ssh_max_auth_tries"))
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["x11forwarding"] == "no"
    assert host.service("ssh").is_running


def test_kernel_settings_are_persisted_and_live_where_the_host_allows(host, inventory):
    wanted = inventory.setting("common_sysctls")
    config = host.file("/etc/sysctl.d/90-gpucluster.conf")
    assert config.mode == 0o644
    persisted = dict(
        (part.strip() for part in line.split("=", 1))
        for line in config.content_string.splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    assert persisted == {name: str(value) for name, value in wanted.items()}
    writable = host.run("test -w /proc/sys/fs/file-max").rc == 0
    if writable:
        for name, value in wanted.items():
            assert str(host.sysctl(name)) == str(value), name
    else:
        # A container: /proc/sys is read-only, nothing can be applied live.
        assert host.run("sysctl -w fs.inotify.max_user_watches=524288").rc != 0


def test_chrony_runs_where_the_clock_can_be_set(host, inventory):
    chrony = host.service("chrony")
    assert chrony.is_enabled
    dropin = host.file("/etc/chrony/conf.d/gpucluster.conf")
    assert dropin.exists
    for server in inventory.setting("common_ntp_servers"):
        assert dropin.contains(f"^server {server} iburst$")
    bounding = int(host.check_output("awk '/^CapBnd:/ {print $2}' /proc/self/status"), 16)
    if bounding >> 25 & 1:
        assert chrony.is_running
    else:
        # No CAP_SYS_TIME (a container): systemd skips the unit on its condition.
        assert not chrony.is_running
        condition = host.check_output("systemctl show chrony -p ConditionResult")
        assert condition == "ConditionResult=no"
