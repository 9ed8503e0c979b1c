"""Role nfs_server: the declared directories with numeric owners and modes,
the live export table, and a server that listens on its storage address
only. What each client may do over NFS is proven from the clients
(tests/infra/nfs_client) and, for a host outside the storage network, by the
nfs scenario (molecule/nfs/tests)."""

from __future__ import annotations

import ipaddress

testinfra_hosts = ["ansible://fileserver"]


def _settings(inventory):
    return inventory.settings()


def test_every_project_has_a_directory_only_its_group_enters(host, inventory):
    server = _settings(inventory)
    projects = server["nfs_server_projects"]
    for project in projects:
        directory = host.file(f"{server['nfs_server_projects_dir']}/{project['name']}")
        assert directory.is_directory, project["name"]
        assert (directory.uid, directory.gid) == (0, int(project["gid"])), project["name"]
        assert directory.mode == int(str(server["nfs_server_project_mode"]), 8), project["name"]


def test_every_user_has_a_private_home(host, inventory):
    server = _settings(inventory)
    for user in server["nfs_server_users"]:
        home = host.file(f"{server['nfs_server_home_dir']}/{user['name']}")
        assert home.is_directory, user["name"]
        assert (home.uid, home.gid) == (int(user["uid"]), int(server["nfs_server_people_gid"]))
        assert home.mode == int(str(server["nfs_server_home_mode"]), 8), user["name"]


def test_datasets_are_readable_by_all_and_writable_by_admins(host, inventory):
    server = _settings(inventory)
    datasets = host.file(server["nfs_server_datasets_dir"])
    assert datasets.is_directory
    assert (datasets.uid, datasets.gid) == (0, int(server["nfs_server_admins_gid"]))
    mode = int(str(server["nfs_server_datasets_mode"]), 8)
    assert datasets.mode == mode
    assert mode & 0o005 == 0o005 and mode & 0o070 == 0o070 and mode & 0o002 == 0


def _expected_exports(server: dict) -> set[str]:
    return {
        server["nfs_server_home_dir"],
        server["nfs_server_datasets_dir"],
        *(
            f"{server['nfs_server_projects_dir']}/{p['name']}"
            for p in server["nfs_server_projects"]
        ),
    }


def test_the_running_server_exports_exactly_the_declared_paths(host, inventory):
    """Asked from the live server (the kernel's export table, Ganesha's export
    manager over D-Bus), not from the configuration file."""
    server = _settings(inventory)
    cidr = str(ipaddress.ip_network(server["nfs_server_client_cidr"]))
    if server["nfs_server_backend"] == "kernel":
        table = host.check_output("exportfs -s").splitlines()
        exported = {line.split()[0]: line.split()[1] for line in table if line.strip()}
        assert set(exported) == _expected_exports(server)
        for path, clients in exported.items():
            client, _, options = clients.partition("(")
            assert client == cidr, (path, clients)
            assert "root_squash" in options.split(",") and "no_root_squash" not in options
    else:
        reply = host.check_output(
            "dbus-send --system --print-reply --dest=org.ganesha.nfsd "
            "/org/ganesha/nfsd/ExportMgr org.ganesha.nfsd.exportmgr.ShowExports"
        )
        exported = {
            line.split('"')[1]
            for line in reply.splitlines()
            if line.strip().startswith('string "/')
        }
        assert _expected_exports(server) <= exported
        assert exported - _expected_exports(server) <= {"/"}, exported


def test_nfs_listens_on_the_storage_address_only(host, inventory):
    server = _settings(inventory)
    address = str(server["nfs_server_bind_address"])
    listening = host.check_output("ss -Htuln").splitlines()
    nfs_sockets = {
        line.split()[4].rpartition(":")[0]
        for line in listening
        if line.split()[4].endswith(":2049")
    }
    assert nfs_sockets == {address}, listening
    # NFSv4 needs no portmapper: nothing answers on port 111.
    assert not [line for line in listening if line.split()[4].endswith(":111")], listening
