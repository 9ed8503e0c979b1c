"""Role common: names, admins, sshd, time sync and kernel settings on every node."""

from __future__ import annotations

testinfra_hosts = ["ansible://all"]


def test_host_name_is_the_inventory_name(host, inventory):
    assert host.check_output("hostname") == inventory.name


def test_every_node_resolves_every_node_by_both_names(host, inventory):
    for other in inventory.hosts():
        other_vars = inventory.vars_of(other)
        expected = {
            other: inventory.management_address(other),
            f"{other}.{inventory.domain}": inventory.management_address(other),
        }
        if "storage_address" in other_vars:
            expected[f"{other}-storage"] = str(other_vars["storage_address"])
        for name, address in expected.items():
            resolved = host.run("getent hosts %s", name)
            assert resolved.rc == 0, f"{inventory.name} cannot resolve {name}"
            assert resolved.stdout.split()[0] == address, (name, resolved.stdout)


def test_admin_group_has_passwordless_sudo(host):
    sudoers = host.file("/etc/sudoers.d/gpucluster-admins")
    assert sudoers.mode == 0o440
    assert host.run("visudo -cf /etc/sudoers.d/gpucluster-admins").rc == 0
    assert host.group("gpuadmin").exists


def test_declared_admins_exist_with_only_their_keys(host, inventory):
    for admin in inventory.vars.get("common_admin_users", []):
        user = host.user(admin["name"])
        if admin.get("state", "present") == "absent":
            assert not user.exists
            continue
        assert user.exists and "gpuadmin" in user.groups
        if admin.get("ssh_keys"):
            keys = host.file(f"{user.home}/.ssh/authorized_keys").content_string
            assert sorted(k.strip() for k in keys.splitlines() if k.strip()) == sorted(
                k.strip() for k in admin["ssh_keys"]
            )


def test_sshd_effective_settings_are_hardened(host):
    effective = dict(
        line.split(" ", 1) for line in host.check_output("sshd -T").splitlines() if " " in line
    )
    assert effective["permitrootlogin"] in ("without-password", "prohibit-password")
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["x11forwarding"] == "no"
    assert host.service("ssh").is_running


def test_kernel_settings_are_persisted_and_live_where_the_host_allows(host):
    config = host.file("/etc/sysctl.d/90-gpucluster.conf")
    assert config.contains("fs.inotify.max_user_watches = 524288")
    writable = host.run("test -w /proc/sys/fs/file-max").rc == 0
    if writable:
        assert int(host.sysctl("fs.inotify.max_user_watches")) == 524288
    else:
        # A container: /proc/sys is read-only, nothing can be applied live.
        assert host.run("sysctl -w fs.inotify.max_user_watches=524288").rc != 0


def test_chrony_runs_where_the_clock_can_be_set(host):
    chrony = host.service("chrony")
    assert chrony.is_enabled
    assert host.file("/etc/chrony/conf.d/gpucluster.conf").exists
    bounding = int(host.check_output("awk '/^CapBnd:/ {print $2}' /proc/self/status"), 16)
    if bounding >> 25 & 1:
        assert chrony.is_running
    else:
        # No CAP_SYS_TIME (a container): systemd skips the unit on its condition.
        assert not chrony.is_running
        condition = host.check_output("systemctl show chrony -p ConditionResult")
        assert condition == "ConditionResult=no"
