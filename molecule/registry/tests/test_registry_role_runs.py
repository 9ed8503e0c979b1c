"""Molecule-only: the registry role re-applied verbosely changes nothing and
never shows the generated password; a garbage collection run by its timer's
service stops the registry, deletes an orphaned blob, and brings it back."""

from __future__ import annotations

from pathlib import Path

from tests.playbook_helpers import run_role

testinfra_hosts = ["ansible://management"]


def test_rerun_changes_nothing_and_never_prints_the_password(host, registry, tmp_path):
    rc, output = run_role(tmp_path, host.backend.host, "registry", "-vv", "--diff")
    password = registry.password()
    assert password not in output, "the registry password appeared in the run's output"
    assert rc == 0, output
    recap = output.split(f"{host.backend.host} : ", 1)[1]
    assert recap.split()[1] == "changed=0", recap[:200]
    assert Path(registry.password_file).read_text().split()[0] == password


def test_garbage_collection_stops_the_registry_collects_and_brings_it_back(
    host, registry, inventory
):
    storage = inventory.setting("registry_storage_path")
    with registry.credentials(host, docker=False) as login:
        # A blob no manifest refers to: exactly what collection must delete.
        rc, output = registry.run(
            host,
            "set -e; d=%s; ca=%s; reg=%s; head -c 4096 /dev/urandom > $d/blob; "
            "digest=sha256:$(sha256sum $d/blob | cut -d' ' -f1); echo $digest; "
            "location=$(curl -s --cacert $ca --netrc-file $d/netrc -o /dev/null -D - "
            "-X POST https://$reg/v2/test/orphan/blobs/uploads/ "
            "| tr -d '\\r' | awk 'tolower($1) == \"location:\" {print $2}'); "
            "curl -s --cacert $ca --netrc-file $d/netrc -o /dev/null -w '%%{http_code}' "
            "-X PUT --data-binary @$d/blob -H 'Content-Type: application/octet-stream' "
            '"$location&digest=$digest"',
            login,
            registry.ca_file,
            registry.address,
        )
        digest, status = output.split()
        assert (rc, status) == (0, "201"), output
    blob = f"{storage}/docker/registry/v2/blobs/sha256/{digest[7:9]}/{digest[7:]}/data"
    assert host.file(blob).exists

    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    result = host.run("systemctl start docker-registry-gc.service")
    assert result.rc == 0, result.stderr
    assert not host.file(blob).exists, "garbage collection left the orphaned blob"
    log = host.check_output("journalctl --no-pager -q --since %s -u docker-registry", since)
    assert "Stopping" in log or "Stopped" in log, log
    status = host.check_output(
        "curl -s -o /dev/null -w '%%{http_code}' --retry 5 --retry-connrefused "
        "--cacert %s https://%s/v2/",
        registry.ca_file,
        registry.address,
    )
    assert status == "401"
    assert host.service("docker-registry").is_running
