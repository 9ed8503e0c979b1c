"""Molecule-only, destructive: lose data, restore it through the playbooks the CLI runs.

Drives playbooks/backup-run.yml, backup-restore.yml and ldap-restore.yml with
the variables `gpucluster backup ...` passes (the CLI itself needs a full
cluster inventory; its argument handling is unit-tested in tests/unit).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import testinfra

from tests.playbook_helpers import run_playbook

testinfra_hosts = ["ansible://backup01"]

ROOT = Path(__file__).resolve().parents[3]
INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE", "")
FILES = ["/home/alice/thesis.bin", "/projects/vision/weights.bin"]
BOB = "uid=bob,ou=people,dc=ml,dc=internal"
ADMIN = "-x -H ldapi:/// -D cn=admin,dc=ml,dc=internal -y /root/ldap-admin.pw"
# The pull's own ssh command line on backup01 (role backup_server's defaults).
PULL_SSH = (
    "ssh -i /root/.ssh/gpucluster_backup -o IdentitiesOnly=yes -o BatchMode=yes"
    " -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/gpucluster/backup/known_hosts"
)


def node(name: str):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=INVENTORY)


def playbook(name: str, *extra: str) -> tuple[int, str]:
    return run_playbook(ROOT / "playbooks" / name, *extra)


def restore(tmp_path: Path, source: str, target: str, snapshot: str = "") -> tuple[int, str]:
    source_host, source_path = source.split(":", 1)
    target_host, target_path = target.split(":", 1)
    return playbook(
        "backup-restore.yml",
        "-e",
        f"backup_restore_source_host={source_host} backup_restore_source_path={source_path}",
        "-e",
        f"backup_restore_target_host={target_host} backup_restore_target_path={target_path}",
        "-e",
        f"backup_restore_snapshot={snapshot} backup_restore_workdir={tmp_path}",
    )


def identity(host, path: str) -> tuple[str, str]:
    digest = host.check_output("sha256sum %s", path).split()[0]
    return digest, host.check_output("stat -c '%%u:%%g %%a %%s %%Y' %s", path)


@pytest.fixture(scope="module")
def backup_run() -> str:
    """One `gpucluster backup run` (playbooks/backup-run.yml) at -vvv, before any data is lost.

    Its archives hold the files and the LDAP entry the restore tests delete; its output is
    what the passphrase test searches. One run serves them all: each run is a full pull.
    """
    rc, output = playbook("backup-run.yml", "-vvv")
    assert rc == 0, output[-3000:]
    return output


def test_deleted_files_come_back_bit_identical(tmp_path, backup_run):
    fs01 = node("fs01")
    before = {path: identity(fs01, path) for path in FILES}
    fs01.check_output("rm -f %s %s", *FILES)
    for path in FILES:
        rc, output = restore(tmp_path, f"fs01:{path}", f"fs01:{path}")
        assert rc == 0, output
        assert identity(fs01, path) == before[path]
    assert not list(tmp_path.iterdir()), "the tar was left on the controller"


def test_a_directory_restores_to_another_host(tmp_path, backup_run):
    fs01, mgmt01 = node("fs01"), node("mgmt01")
    rc, output = restore(tmp_path, "fs01:/home/alice", "mgmt01:/srv/restored/alice")
    assert rc == 0, output
    listing = (
        "cd %s && find . -printf '%%P %%U:%%G %%m %%s\\n' | sort"
        " && find . -type f | sort | xargs sha256sum"
    )
    assert mgmt01.check_output(listing, "/srv/restored/alice") == fs01.check_output(
        listing, "/home/alice"
    )
    mgmt01.check_output("rm -rf /srv/restored")


def test_an_unknown_snapshot_is_refused_by_name(tmp_path, backup_run):
    rc, output = restore(
        tmp_path, "fs01:/home", "fs01:/tmp/x", snapshot="fs01-1999-01-01T00:00:00Z"
    )
    assert rc != 0
    assert "no archive fs01-1999-01-01T00:00:00Z for fs01" in output


@pytest.mark.parametrize(
    ("source", "target", "planted"),
    [
        # The reported attack: a file restored "into" alice's home lands in /etc/profile.d.
        ("fs01:/home/alice/notes.txt", "fs01:/home/alice/evil/notes.sh", "/etc/profile.d/notes.sh"),
        # A directory restored onto the link itself.
        ("fs01:/projects/vision", "fs01:/home/alice/evil", "/etc/profile.d/weights.bin"),
    ],
)
def test_a_restore_never_follows_a_symlink_planted_in_the_target(
    tmp_path, backup_run, source, target, planted
):
    fs01 = node("fs01")
    # What alice can do over NFS: a link in her own home.
    fs01.check_output("runuser -u alice -- ln -sfn /etc/profile.d /home/alice/evil")
    try:
        assert fs01.file("/home/alice/evil").is_symlink
        assert fs01.check_output("stat -c %%U %s", "/home/alice/evil") == "alice"
        before = fs01.check_output("ls -la /etc/profile.d")
        rc, output = restore(tmp_path, source, target)
        assert rc != 0, output
        assert "/home/alice/evil is a symlink (-> /etc/profile.d)" in output, output
        assert not fs01.file(planted).exists
        assert fs01.check_output("ls -la /etc/profile.d") == before
    finally:
        fs01.check_output("rm -f /home/alice/evil")
    assert not list(tmp_path.iterdir()), "the tar was left on the controller"


def test_a_restore_replaces_a_symlink_below_a_restored_directory(tmp_path, backup_run):
    fs01 = node("fs01")
    # alice swaps a directory the archive holds for a link to /etc.
    fs01.check_output("mkdir -p /srv/restore-probe && ln -s /etc /srv/restore-probe/vision")
    try:
        rc, output = restore(tmp_path, "fs01:/projects", "fs01:/srv/restore-probe")
        assert rc == 0, output
        assert fs01.file("/srv/restore-probe/vision").is_directory
        assert not fs01.file("/srv/restore-probe/vision").is_symlink
        assert fs01.file("/srv/restore-probe/vision/weights.bin").exists
        assert not fs01.file("/etc/weights.bin").exists
    finally:
        fs01.check_output("rm -rf /srv/restore-probe")


def test_the_backup_key_cannot_follow_a_planted_symlink_out_of_a_backed_up_path():
    fs01, backup01 = node("fs01"), node("backup01")
    fs01.check_output("runuser -u alice -- ln -sfn /etc/shadow /home/alice/shadow-link")
    fs01.check_output("runuser -u alice -- ln -sfn /etc /home/alice/etc-link")
    try:
        for attempt in (
            "-L root@10.246.0.12::data:home/alice/shadow-link",
            "-rK root@10.246.0.12::data:home/alice/etc-link/shadow",
            # Without following: the link itself, resolved inside the chroot: nothing.
            "root@10.246.0.12::data:home/alice/etc-link/shadow",
        ):
            backup01.run("rm -f /root/shadow-probe")
            result = backup01.run(f"rsync -e '{PULL_SSH}' {attempt} /root/shadow-probe")
            assert result.rc != 0, attempt
            probe = backup01.file("/root/shadow-probe")
            assert not probe.exists or probe.is_symlink, attempt
    finally:
        fs01.check_output("rm -f /home/alice/shadow-link /home/alice/etc-link")
        backup01.run("rm -f /root/shadow-probe")


def test_a_path_outside_the_archive_is_refused(tmp_path, backup_run):
    rc, output = restore(tmp_path, "fs01:/etc/shadow", "fs01:/tmp/shadow")
    assert rc != 0 and "/etc/shadow is not in archive" in output
    assert not node("fs01").file("/tmp/shadow").exists


def _entry(mgmt01) -> str:
    return mgmt01.check_output(
        f"ldapsearch -LLL {ADMIN} -b %s -s base '(objectClass=*)' '*' '+'"
        " | grep -v -E '^(modifyTimestamp|contextCSN):'",
        BOB,
    )


def test_a_deleted_ldap_entry_comes_back_with_its_attributes(tmp_path, backup_run):
    mgmt01 = node("mgmt01")
    before = _entry(mgmt01)
    assert "description: restored entries keep every attribute" in before
    mgmt01.check_output(f"ldapdelete {ADMIN} %s", BOB)
    assert mgmt01.run(f"ldapsearch -LLL {ADMIN} -b %s -s base", BOB).rc == 32  # no such object
    rc, output = playbook("ldap-restore.yml", "-e", f"backup_restore_workdir={tmp_path}")
    assert rc == 0, output
    assert mgmt01.service("slapd").is_running
    assert _entry(mgmt01) == before
    assert mgmt01.check_output("ls -d /var/lib/ldap.pre-restore-*")


def test_a_source_cannot_delete_archives_with_its_own_credentials():
    fs01, backup01 = node("fs01"), node("backup01")
    count = backup01.check_output("/usr/local/sbin/gpucluster-backup-list")
    attempt = fs01.run(
        "BORG_RSH='ssh -o BatchMode=yes -o StrictHostKeyChecking=no"
        " -o UserKnownHostsFile=/dev/null' "
        "BORG_PASSPHRASE=x borg delete --force ssh://root@10.246.0.13/srv/backup/borg/fs01"
    )
    # borg relays ssh's own "Permission denied" only sometimes before it exits.
    output = attempt.stdout + attempt.stderr
    assert attempt.rc != 0
    assert "Permission denied" in output or "Connection closed by remote host" in output, output
    assert backup01.check_output("/usr/local/sbin/gpucluster-backup-list") == count


@pytest.mark.parametrize("name", ["backup-run.yml", "role"])
def test_the_passphrase_never_appears_in_ansible_output(tmp_path, request, name):
    secrets = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
    passphrase_file = secrets / "backup-borg-passphrase"
    assert oct(passphrase_file.stat().st_mode & 0o777) == "0o600"
    passphrase = passphrase_file.read_text().strip()
    assert (
        node("backup01").file("/etc/gpucluster/backup/borg-passphrase").content_string.strip()
        == passphrase
    )
    if name == "role":
        play = tmp_path / "play.yml"
        play.write_text(
            "- name: Backup server\n  hosts: backup\n  gather_facts: false\n"
            "  roles:\n    - role: backup_server\n"
        )
        rc, output = playbook(str(play), "-vvv")
        assert rc == 0, output[-3000:]
    else:
        # The restore tests' backup run (at -vvv): only this case needs it.
        output = request.getfixturevalue("backup_run")
    assert passphrase not in output
