"""Molecule-only: a host on the same storage "switch" but outside the
declared storage CIDR reaches the NFS port, yet gets nothing at all: not a
listing of the pseudo root or the export root, not an export, not a file,
whoever it claims to be."""

from __future__ import annotations

import ipaddress

import pytest

from tests.infra.nfs_helpers import nfs, nfs_url

testinfra_hosts = ["ansible://outsider"]


@pytest.fixture
def server(host, inventory):
    name = inventory.first_of("fileserver")
    fs_vars = inventory.vars_of(name)
    return {
        "settings": inventory.settings(of=name),
        "address": str(fs_vars["storage_address"]),
        "fs": inventory.host(name),
        "users": inventory.vars.get("cluster_users", []),
    }


def test_the_outsider_is_on_the_storage_network_but_outside_its_cidr(host, inventory, server):
    cidr = ipaddress.ip_network(server["settings"]["nfs_server_client_cidr"])
    own = ipaddress.ip_address(inventory.vars["storage_address"])
    assert own not in cidr
    # The denial below is the server's, not the network's: the port answers.
    probe = (
        "import socket,sys; s=socket.socket(); s.settimeout(3); "
        f"sys.exit(s.connect_ex(({server['address']!r}, 2049)))"
    )
    assert host.run("python3 -c %s", probe).rc == 0


def _paths(settings: dict) -> list[str]:
    root = settings["cluster_export_root"]
    return [
        "/",
        root,
        settings["nfs_server_home_dir"],
        settings["nfs_server_datasets_dir"],
        *(
            f"{settings['nfs_server_projects_dir']}/{p['name']}"
            for p in settings["nfs_server_projects"]
        ),
    ]


@pytest.mark.parametrize(("uid", "gid"), [(0, 0), (65534, 65534)], ids=["root", "nobody"])
def test_the_outsider_cannot_list_anything(host, server, uid, gid):
    for path in _paths(server["settings"]):
        listing = nfs(host, "nfs-ls", nfs_url(server["address"], path, uid, gid))
        assert not listing.ok, f"outsider listed {path}: {listing.output}"
        assert "NFS4ERR_ACCESS" in listing.output or "NFS4ERR_PERM" in listing.output, (
            listing.output
        )


def test_the_outsider_cannot_read_or_write_a_members_file(host, server):
    settings = server["settings"]
    fs = server["fs"]
    for project in settings["nfs_server_projects"]:
        members = [u for u in server["users"] if project["name"] in u.get("projects", [])]
        if not members:
            continue
        path = f"{settings['nfs_server_projects_dir']}/{project['name']}/.outsider-probe"
        fs.run_expect([0], "printf 'secret\\n' > %s && chmod 0664 %s", path, path)
        try:
            uid, gid = int(members[0]["uid"]), int(project["gid"])
            reading = nfs(host, "nfs-cat", nfs_url(server["address"], path, uid, gid))
            assert not reading.ok and "secret" not in reading.output, reading.output
            host.run("printf x > /tmp/outsider-probe")
            writing = nfs(
                host,
                "nfs-cp",
                "/tmp/outsider-probe",
                nfs_url(server["address"], path + ".new", uid, gid),
            )
            assert not writing.ok, writing.output
            assert not fs.file(path + ".new").exists
        finally:
            fs.run("rm -f %s %s", path, path + ".new")
