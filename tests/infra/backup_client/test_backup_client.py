"""Role backup_client: the backup host may only read a source; a source cannot reach backups."""

from __future__ import annotations

import pytest

from tests.infra.backup_helpers import (
    SOURCE_CONFIG_DIR,
    Backup,
    backup_layout,
    module_of,
    source_excludes,
    source_modules,
)

testinfra_hosts = ["ansible://fileserver", "ansible://management"]


@pytest.fixture
def backup(inventory) -> Backup:
    return backup_layout(inventory)


def _pull_address(backup: Backup, name: str) -> str:
    sources = backup.sources()
    assert name in sources, f"{backup.server} does not pull {name}"
    return sources[name]


def _authorized_lines(host) -> list[str]:
    text = host.file("/root/.ssh/authorized_keys").content_string
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_path_list_is_the_configured_one(host, inventory):
    listed = host.file("/etc/gpucluster/backup/paths")
    assert listed.mode == 0o644 and listed.user == "root"
    paths = [p for p in listed.content_string.splitlines() if p and not p.startswith("#")]
    expected = inventory.setting("backup_client_paths")
    assert expected, f"{inventory.name}: backup_client_paths resolved to nothing"
    assert paths == list(expected)


def test_pull_key_is_authorized_read_only_from_the_backup_host(host, backup):
    public = backup.server_host.file(f"{backup.ssh_key}.pub").content_string.split()
    lines = [line for line in _authorized_lines(host) if public[1] in line]
    assert len(lines) == 1
    options = lines[0].split(" ssh-")[0]
    # The key runs nothing but the single-use rsync daemon of this configuration.
    assert options.startswith(
        f'command="/usr/bin/rsync --server --daemon --config={SOURCE_CONFIG_DIR}/rsyncd.conf .",'
    )
    assert ",restrict," in options
    allowed = options.split('from="')[1].split('"')[0].split(",")
    server_vars = backup.host(backup.server).backend.ansible_runner.get_variables(backup.server)
    assert str(server_vars["storage_address"]) in allowed


def test_daemon_serves_each_path_read_only_and_chrooted(host):
    conf = host.file(f"{SOURCE_CONFIG_DIR}/rsyncd.conf")
    assert conf.user == "root" and conf.mode == 0o644
    modules = source_modules(host)
    settings = modules[""]
    assert (settings["uid"], settings["read only"], settings["use chroot"]) == ("0", "yes", "yes")
    assert settings["list"] == "no"
    for option in ("copy-links", "copy-dirlinks", "copy-unsafe-links", "keep-dirlinks"):
        assert option in settings["refuse options"].split()
    check = host.file(settings["pre-xfer exec"])
    assert check.user == "root" and check.mode == 0o755
    listed = host.file(f"{SOURCE_CONFIG_DIR}/paths").content_string
    paths = [p for p in listed.splitlines() if p and not p.startswith("#")]
    assert modules["paths"] == {"path": SOURCE_CONFIG_DIR, "filter": "+ /paths - *"}
    # Exactly one module per listed directory, and no module for anything else.
    data = {name: values["path"] for name, values in modules.items() if name.startswith("data:")}
    assert data == {module_of(path): path for path in paths}
    assert set(modules) == {"", "paths", *data}


def test_backup_key_reads(host, backup):
    """The positive control: the key works, so the refusals below are the key's limits."""
    address = _pull_address(backup, host.backend.host)
    # Into a scratch file: rsync renames its temporary file over the destination,
    # so /dev/null as the destination would be replaced by a regular file.
    scratch = "/root/gpucluster-backup-paths-probe"
    read = backup.rsync(f"root@{address}::paths/paths {scratch}")
    assert read.rc == 0, read.stderr
    assert (
        backup.server_host.file(scratch).content_string
        == host.file(f"{SOURCE_CONFIG_DIR}/paths").content_string
    )
    backup.server_host.run("rm -f %s", scratch)
    listed = host.file(f"{SOURCE_CONFIG_DIR}/paths").content_string
    present = [
        p for p in listed.splitlines() if p and not p.startswith("#") and host.file(p).is_directory
    ]
    assert present, "none of the backed-up directories exists"
    for path in present:
        listing = backup.rsync(f"--list-only root@{address}::{module_of(path)}/")
        assert listing.rc == 0, listing.stderr


def test_backup_key_reads_nothing_outside_the_backed_up_paths(host, backup):
    """What a compromised backup host could ask a source for, and is refused."""
    address = _pull_address(backup, host.backend.host)
    scratch = "/root/gpucluster-backup-read-probe"
    backup.server_host.run("rm -rf %s", scratch)
    listed = host.file(f"{SOURCE_CONFIG_DIR}/paths").content_string.splitlines()
    # A module that exists, so a refusal is the daemon's and not a missing directory.
    first = module_of(next(p for p in listed if p[:1] == "/" and host.file(p).is_directory))
    attempts = [
        # rsync's ordinary remote-shell mode (what rrsync -ro / allowed).
        f"root@{address}:/etc/shadow",
        f"root@{address}:/etc/sssd/sssd.conf",
        # A module nobody configured, and ways out of configured ones.
        f"root@{address}::data:etc/shadow",
        f"root@{address}::{first}/../../../../etc/shadow",
        f"root@{address}::paths/../../../etc/shadow",
        f"root@{address}::paths/rsyncd.conf",
        # Following a symlink on the sending side.
        f"--copy-links root@{address}::{first}/",
        f"--copy-dirlinks root@{address}::{first}/",
    ]
    for attempt in attempts:
        result = backup.rsync(f"-r {attempt} {scratch}/")
        copied = backup.server_host.run("find %s -type f -name shadow -o -name sssd.conf", scratch)
        assert result.rc != 0, f"{attempt} was not refused: {result.stdout}"
        assert not copied.stdout.strip(), f"{attempt} copied {copied.stdout}"
    # The modules are not even listed.
    listing = backup.rsync(f"root@{address}::")
    assert not listing.stdout.strip(), listing.stdout
    backup.server_host.run("rm -rf %s", scratch)


def test_excluded_files_cannot_be_read_even_by_name(host, backup):
    address = _pull_address(backup, host.backend.host)
    excludes = source_excludes(host)
    found = [
        path
        for pattern in excludes
        # The pattern unquoted, for the shell to expand (role-checked characters only).
        for path in host.run(
            f'for f in {pattern}; do [ -e "$f" ] && echo "$f"; done'
        ).stdout.split()
    ]
    if not found:
        pytest.skip(
            f"not executed here: no excluded file ({excludes}) exists on {host.backend.host}"
        )
    modules = {
        values["path"]: name for name, values in source_modules(host).items() if "path" in values
    }
    scratch = "/root/gpucluster-backup-exclude-probe"
    for path in found:
        directory = max((d for d in modules if path.startswith(d + "/")), key=len)
        member = path[len(directory) :]
        backup.server_host.run("rm -f %s", scratch)
        fetched = backup.rsync(f"root@{address}::{modules[directory]}{member} {scratch}")
        assert fetched.rc != 0, f"{path} was sent"
        assert not backup.server_host.file(scratch).exists, f"{path} was sent"
        whole = backup.rsync(f"-r --list-only root@{address}::{modules[directory]}/")
        assert whole.rc == 0, whole.stderr
        assert member.lstrip("/") not in whole.stdout.split(), f"{path} is listed"


def test_backup_key_cannot_write_or_run_commands(host, backup):
    address = _pull_address(backup, host.backend.host)
    target = "/root/gpucluster-backup-write-probe"
    upload = backup.rsync(f"/etc/hostname root@{address}:{target}")
    assert upload.rc != 0
    assert not host.file(target).exists
    # rsync relays the daemon's refusal on either stream, but under load the
    # message can be lost when the daemon hangs up first: every attempt must be
    # refused and write nothing, and one of three must say why.
    reasons = []
    for _attempt in range(3):
        upload = backup.rsync(f"/etc/hostname root@{address}::paths/write-probe")
        assert upload.rc != 0
        assert not host.file(f"{SOURCE_CONFIG_DIR}/write-probe").exists
        reasons.append(upload.stdout + upload.stderr)
        if "read only" in reasons[-1]:
            break
    assert "read only" in reasons[-1], reasons
    shell = backup.server_host.run("%s root@%s 'touch %s; id'", backup.ssh(), address, target)
    assert shell.rc != 0 and "uid=" not in shell.stdout
    assert not host.file(target).exists


def _backup_addresses(backup: Backup) -> list[str]:
    server_vars = backup.server_host.backend.ansible_runner.get_variables(backup.server)
    found = [server_vars.get("storage_address"), server_vars.get("management_address")]
    if not found[1]:
        found[1] = server_vars.get("ansible_host")
    return sorted({str(a) for a in found if a and str(a)[0].isdigit()})


def test_source_cannot_log_in_to_the_backup_host(host, backup):
    addresses = _backup_addresses(backup)
    assert addresses
    for address in addresses:
        # ssh's own 255 would read as a transport failure to testinfra's SSH
        # backend (gpucluster verify), so the exit status travels in the output.
        attempt = host.run(
            "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            "-o ConnectTimeout=10 root@%s true 2>&1; echo ssh-exit=$?",
            address,
        )
        # sshd answered (no network excuse) and refused every credential root has.
        assert attempt.stdout.rstrip().endswith("ssh-exit=255"), attempt.stdout
        assert "Permission denied" in attempt.stdout, attempt.stdout


def test_source_cannot_reach_a_repository_with_borg(host, backup):
    if not host.exists("borg"):
        pytest.skip(f"not executed here: borg is not installed on {host.backend.host}")
    repository = f"{backup.repository_root}/{host.backend.host}"
    for address in _backup_addresses(backup):
        attempt = host.run(
            "BORG_RSH='ssh -o BatchMode=yes -o StrictHostKeyChecking=no "
            "-o UserKnownHostsFile=/dev/null' BORG_PASSPHRASE=x borg list ssh://root@%s%s",
            address,
            repository,
        )
        output = attempt.stdout + attempt.stderr
        assert attempt.rc != 0
        # borg relays ssh's "Permission denied" only sometimes before it exits;
        # test_source_cannot_log_in_to_the_backup_host checks the refusal itself.
        assert "Permission denied" in output or "Connection closed by remote host" in output, output


def test_source_holds_no_key_authorized_on_the_backup_host(host, backup):
    # Every key pair on the source, whatever its name: host keys, root's, users'.
    blobs = set(
        host.check_output(
            "for f in /etc/ssh/ssh_host_*_key /root/.ssh/* /home/*/.ssh/*; do "
            '[ -f "$f" ] && ssh-keygen -y -f "$f" 2>/dev/null; '
            'case "$f" in *.pub) cat "$f";; esac; done | awk \'{print $2}\''
        ).split()
    )
    assert blobs, "no key found on the source at all"
    authorized = backup.server_host.check_output(
        "cat /root/.ssh/authorized_keys* /home/*/.ssh/authorized_keys* /etc/ssh/authorized_keys* "
        "2>/dev/null | awk '{for (i = 1; i <= NF; i++) print $i}' || true"
    ).split()
    assert not blobs & set(authorized)


def _timer_enabled_on(host, timer: str, calendar: str) -> None:
    assert host.run("systemctl is-enabled %s", timer).stdout.strip() == "enabled"
    normalised = next(
        line.split(":", 1)[1].strip()
        for line in host.check_output("systemd-analyze calendar %s", calendar).splitlines()
        if "Normalized form" in line
    )
    assert f"OnCalendar={normalised} ;" in host.check_output(
        "systemctl show %s -p TimersCalendar", timer
    )


def _run_dump(host, inventory, setting: str, what: str, installed: bool) -> str:
    """Check a dump's timer and directory and run it now; its directory. Where the
    service it dumps is not installed, check that the dump said so, and skip."""
    service = f"gpucluster-{what.lower()}-dump"
    if not inventory.setting(setting):
        pytest.skip(f"not executed here: no {what} dump configured on {inventory.name}")
    _timer_enabled_on(host, f"{service}.timer", inventory.setting(f"{setting}_on_calendar"))
    dump_dir = inventory.setting(f"{setting}_dir")
    assert host.file(dump_dir).mode == 0o700
    assert host.run("systemctl start %s.service", service).rc == 0
    if not installed:
        log = host.check_output("journalctl -u %s.service -n 5 -o cat", service)
        assert f"{what} dump skipped" in log
        pytest.skip(f"not executed here: {what} is not installed on {host.backend.host}")
    return dump_dir


def test_ldap_dump(host, inventory):
    dump_dir = _run_dump(
        host, inventory, "backup_client_ldap_dump", "LDAP", installed=host.exists("slapcat")
    )
    for name, database in (("config", 0), ("data", 1)):
        dump = host.file(f"{dump_dir}/{name}.ldif")
        assert dump.mode == 0o600 and dump.user == "root"
        live = host.check_output(f"slapcat -n {database} | grep -c '^dn:'")
        assert host.check_output("grep -c '^dn:' %s", dump.path) == live


def test_mlflow_dump(host, inventory):
    installed = host.file("/etc/systemd/system/gpucluster-mlflow.service").exists
    dump_dir = _run_dump(host, inventory, "backup_client_mlflow_dump", "MLflow", installed)
    for database in inventory.setting("backup_client_mlflow_databases"):
        dump = host.file(f"{dump_dir}/{database}.dump")
        assert dump.mode == 0o600 and dump.user == "root"
        # A pg_dump archive of that database (pg_restore reads its table of contents).
        listed = host.check_output("pg_restore --list %s", dump.path)
        assert f"dbname: {database}" in listed
