"""Role backup_server: encrypted repositories per source, a scheduled pull that archives them.

test_a_pull_archives_every_source runs one pull (what `gpucluster backup run`
does; incremental after the first), then compares what the archives hold with
the sources themselves.
"""

from __future__ import annotations

from fnmatch import fnmatch

import pytest

from tests.infra.backup_helpers import Backup, backup_layout, source_excludes

testinfra_hosts = ["ansible://backup"]


@pytest.fixture
def backup(inventory) -> Backup:
    return backup_layout(inventory)


def test_pull_timer_is_enabled_with_the_configured_schedule(host, inventory):
    calendar = inventory.setting("backup_server_on_calendar")
    normalised = host.check_output("systemd-analyze calendar %s", calendar)
    normalised = next(
        line.split(":", 1)[1].strip()
        for line in normalised.splitlines()
        if "Normalized form" in line
    )
    assert host.run("systemctl is-enabled gpucluster-backup.timer").stdout.strip() == "enabled"
    assert host.run("systemctl is-active gpucluster-backup.timer").stdout.strip() == "active"
    shown = host.check_output(
        "systemctl show gpucluster-backup.timer -p TimersCalendar -p Persistent "
        "-p RandomizedDelayUSec"
    )
    assert f"OnCalendar={normalised} ;" in shown
    assert "Persistent=yes" in shown
    delay = inventory.setting("backup_server_randomized_delay")
    expected_delay = host.check_output("systemd-analyze timespan %s", delay)
    expected_delay = next(
        line.split(":", 1)[1].strip() for line in expected_delay.splitlines() if "Human" in line
    )
    assert f"RandomizedDelayUSec={expected_delay}" in shown


def test_retention_and_compression_are_the_configured_ones(host, inventory):
    script = host.file("/usr/local/sbin/gpucluster-backup-pull")
    assert script.mode == 0o700 and script.user == "root"
    text = script.content_string
    for name in ("daily", "weekly", "monthly"):
        value = int(inventory.setting(f"backup_server_keep_{name}"))
        assert f"KEEP_{name.upper()}={value}\n" in text
        assert f'--keep-{name} "$KEEP_{name.upper()}"' in text
    assert "borg prune" in text and "borg compact" in text


def test_pull_service_is_sandboxed(host, backup, inventory):
    shown = dict(
        line.split("=", 1)
        for line in host.check_output(
            "systemctl show gpucluster-backup.service -p ProtectSystem -p ProtectHome "
            "-p PrivateTmp -p PrivateDevices -p NoNewPrivileges -p ReadWritePaths "
            "-p RestrictNamespaces -p SystemCallFilter -p CapabilityBoundingSet"
        ).splitlines()
    )
    assert shown["ProtectSystem"] == "strict"
    assert shown["ProtectHome"] == "read-only"
    assert shown["PrivateTmp"] == shown["PrivateDevices"] == shown["NoNewPrivileges"] == "yes"
    assert shown["RestrictNamespaces"] == "yes"
    assert shown["SystemCallFilter"], "no system call filter"
    staging = inventory.setting("backup_server_staging_root")
    # Writable: the repositories, the staging copies, borg's state and the metrics file
    # of each source's last success ("-": where no exporter made that directory), nothing else.
    metrics = "-" + inventory.setting("backup_server_metrics_dir")
    assert sorted(shown["ReadWritePaths"].split()) == sorted(
        [backup.repository_root, staging, backup.state_dir, metrics]
    )
    assert sorted(shown["CapabilityBoundingSet"].split()) == sorted(
        ["cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid"]
    )


def test_secrets_are_root_only(host, backup):
    passphrase = host.file(f"{backup.config_dir}/borg-passphrase")
    assert passphrase.exists and passphrase.mode == 0o600
    assert (passphrase.user, passphrase.group) == ("root", "root")
    assert len(passphrase.content_string.strip()) >= 32
    key = host.file(backup.ssh_key)
    assert key.mode == 0o600 and key.user == "root"
    assert host.file(backup.config_dir).mode == 0o700
    assert host.file(backup.repository_root).mode == 0o700


def test_every_source_has_an_encrypted_repository(host, backup, inventory):
    groups = inventory.setting("backup_server_source_groups")
    expected = sorted(
        {name for group in groups for name in host.backend.ansible_runner.get_hosts(group)}
    )
    assert sorted(backup.sources()) == expected
    for source in expected:
        repository = f"{backup.repository_root}/{source}"
        info = backup.borg(f"info {repository}")
        assert info.rc == 0, info.stderr
        assert "Encrypted: Yes (repokey" in info.stdout
        # Without the passphrase the repository cannot be read.
        locked = host.run(
            "BORG_PASSPHRASE=wrong BORG_BASE_DIR=%s borg info %s", backup.state_dir, repository
        )
        assert locked.rc != 0 and "passphrase" in (locked.stdout + locked.stderr).lower()


def test_a_pull_archives_every_source(host, backup):
    before = backup.archives()
    started = host.run("systemctl start gpucluster-backup.service")
    log = host.run("journalctl -u gpucluster-backup.service -n 30 -o cat --no-pager").stdout
    assert started.rc == 0, log
    after = backup.archives()
    for source in backup.sources():
        new = [a for a in after.get(source, []) if a not in before.get(source, [])]
        assert len(new) == 1, f"{source}: no archive from this pull: {log}"
        archive = f"{backup.repository_root}/{source}::{new[0]['name']}"
        source_host = backup.host(source)
        listed = source_host.file("/etc/gpucluster/backup/paths").content_string
        paths = [p for p in listed.splitlines() if p and not p.startswith("#")]
        present = [p for p in paths if source_host.file(p).exists]
        excludes = source_excludes(source_host)
        for path in present:
            # The archive holds the path, nothing the source excludes, and one
            # regular file under it byte for byte.
            members = set(
                backup.borg(f"list --short {archive} pp:{path.lstrip('/')}").stdout.splitlines()
            )
            assert members, f"{source}:{path} is not in {archive}"
            excluded = [
                found
                for pattern in excludes
                if pattern.startswith(path + "/")
                # The pattern unquoted, for the shell to expand (role-checked characters only).
                for found in source_host.run(
                    f'for f in {pattern}; do [ -e "$f" ] && echo "$f"; done'
                ).stdout.split()
            ]
            for found in excluded:
                member = found.lstrip("/")
                listed = backup.borg(f"list --short {archive} pp:{member}").stdout
                assert not listed.strip(), f"{source}:{found} is excluded but archived"
            files = source_host.run(
                "find %s -xdev -type f -size +0 | head -n 50", path
            ).stdout.splitlines()
            # Only a file the pull saw: tests running beside this one (the LDAP dump's
            # own test) may create files under the path after the pull.
            kept = [
                f
                for f in files
                if not any(fnmatch(f, p) for p in excludes) and f.lstrip("/") in members
            ]
            if not kept:
                continue
            sample = kept[0]
            on_source = source_host.check_output("sha256sum %s", sample).split()[0]
            archived = host.check_output(
                "BORG_PASSCOMMAND='cat %s/borg-passphrase' BORG_BASE_DIR=%s "
                "borg extract --stdout %s pp:%s | sha256sum",
                backup.config_dir,
                backup.state_dir,
                archive,
                sample.lstrip("/"),
            ).split()[0]
            assert archived == on_source, f"{source}:{sample} differs in {archive}"
