"""Role nfs_client, and what a node in the storage network may do on the file
server over NFSv4, asked at the protocol level with the user-space client
(libnfs-utils), per declared user and project: homes are private, a
project's directory is its members' only, /datasets is read by all and
written by admins, root is squashed. The kernel mount itself is asserted
where the kernel has an NFS client and reported as not executed elsewhere."""

from __future__ import annotations

import json
import secrets

import pytest

from tests.infra.nfs_helpers import nfs, nfs_url

testinfra_hosts = ["ansible://login", "ansible://gpu"]

REQUIRED_OPTIONS = {"hard", "nfsvers=4.2", "noatime", "_netdev"}
# Hardening every mount keeps, whatever the inventory overrides: the exports
# are writable by users, so setuid binaries and device nodes on them must
# not take effect on the nodes.
HARDENING_OPTIONS = {"nosuid", "nodev"}


@pytest.fixture
def cluster(host, inventory):
    """This node's client settings and the file server's settings and handle."""
    name = inventory.first_of("fileserver")
    fs_vars = inventory.vars_of(name)
    server = inventory.settings(of=name)
    return {
        "client": inventory.settings(),
        "server": server,
        "fs": inventory.host(name),
        "address": str(fs_vars["storage_address"]),
        "management": inventory.management_address(name),
        "users": inventory.vars.get("cluster_users", []),
        "people_gid": int(server["nfs_server_people_gid"]),
        "admins_gid": int(server["nfs_server_admins_gid"]),
    }


def _mounts(client: dict) -> list[tuple[str, str]]:
    """(mount point, server path) of every export this node mounts."""
    mounts = [(client["nfs_client_home_path"], client["nfs_client_home_export"])]
    mounts += [
        (
            f"{client['nfs_client_projects_path']}/{p['name']}",
            f"{client['nfs_client_projects_export']}/{p['name']}",
        )
        for p in client["nfs_client_projects"]
    ]
    mounts.append((client["nfs_client_datasets_path"], client["nfs_client_datasets_export"]))
    return mounts


def _unit(host, where: str) -> str:
    return host.check_output("systemd-escape --path --suffix=mount %s", where)


def _unit_settings(host, unit: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in host.file(f"/etc/systemd/system/{unit}").content_string.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def _kernel_can_mount_nfs(host) -> bool:
    return host.run("grep -qw nfs4 /proc/filesystems || modprobe --dry-run --quiet nfsv4").rc == 0


def test_mount_units_pass_systemd_verify_and_are_enabled(host, cluster):
    client = cluster["client"]
    units = []
    for where, export in _mounts(client):
        unit = _unit(host, where)
        units.append(f"/etc/systemd/system/{unit}")
        settings = _unit_settings(host, unit)
        assert settings["What"] == [f"{client['nfs_client_server_name']}:{export}"], unit
        assert settings["Where"] == [where], unit
        assert set(settings["Options"][0].split(",")) >= REQUIRED_OPTIONS, unit
        # Ordered after the network being online and the storage NIC.
        assert "network-online.target" in settings["After"], unit
        assert "network-online.target" in settings["Wants"], unit
        assert any(after.startswith("sys-subsystem-net-devices-") for after in settings["After"])
        assert settings["WantedBy"] == ["remote-fs.target"], unit
        assert host.check_output("systemctl is-enabled %s", unit) == "enabled", unit
    verified = host.run("systemd-analyze verify %s", " ".join(units))
    assert verified.rc == 0, verified.stdout + verified.stderr
    assert not verified.stderr.strip(), verified.stderr


def test_mount_units_ignore_setuid_bits_and_device_nodes(host, cluster):
    for where, _export in _mounts(cluster["client"]):
        unit = _unit(host, where)
        (options,) = _unit_settings(host, unit)["Options"]
        missing = HARDENING_OPTIONS - set(options.split(","))
        assert not missing, f"{unit}: Options={options} lacks {','.join(sorted(missing))}"


def test_the_units_name_the_server_by_its_storage_address(host, cluster):
    name = cluster["client"]["nfs_client_server_name"]
    resolved = host.run("getent hosts %s", name)
    assert resolved.rc == 0, f"{name} does not resolve"
    assert resolved.stdout.split()[0] == cluster["address"]


def test_nfs_exports_are_mounted(host, cluster):
    if not _kernel_can_mount_nfs(host):
        pytest.skip(
            "not executed here: the kernel has no NFS client (no nfs4 in /proc/filesystems, "
            "no nfsv4 module); the units are written and enabled, not mounted"
        )
    client = cluster["client"]
    for where, export in _mounts(client):
        found = json.loads(host.check_output("findmnt -J --mountpoint %s", where))
        (mount,) = found["filesystems"]
        assert mount["source"] == f"{client['nfs_client_server_name']}:{export}"
        assert mount["fstype"] == "nfs4", mount
        options = set(mount["options"].split(","))
        assert {"hard", "vers=4.2", "noatime"} | HARDENING_OPTIONS <= options, mount
        assert host.service(_unit(host, where)).is_running


def _connects(host, address: str) -> bool:
    probe = (
        "import socket,sys; s=socket.socket(); s.settimeout(3); "
        f"sys.exit(s.connect_ex(({address!r}, 2049)))"
    )
    return host.run("python3 -c %s", probe).rc == 0


def test_server_answers_on_its_storage_address_only(host, cluster):
    assert _connects(host, cluster["address"]), f"no NFS on {cluster['address']}"
    assert not _connects(host, cluster["management"]), (
        f"NFS answers on the management address {cluster['management']}"
    )


@pytest.fixture
def scratch(cluster):
    """Remove, on the file server, whatever the test wrote through NFS."""
    written: list[str] = []
    yield written
    for path in written:
        cluster["fs"].run("rm -rf %s", path)


def _probe_name() -> str:
    return f".gpucluster-verify-{secrets.token_hex(4)}"


def _put(host, cluster, path: str, uid: int, gid: int, content: str):
    host.run("printf %s > /tmp/nfs-probe", content)
    return nfs(host, "nfs-cp", "/tmp/nfs-probe", nfs_url(cluster["address"], path, uid, gid))


def test_users_write_and_read_their_own_home_only(host, cluster, scratch):
    server = cluster["server"]
    users = cluster["users"]
    if not users:
        pytest.skip("not executed here: no users declared (cluster_users)")
    for user in users:
        uid, gid = int(user["uid"]), cluster["people_gid"]
        path = f"{server['nfs_server_home_dir']}/{user['name']}/{_probe_name()}"
        scratch.append(path)
        written = _put(host, cluster, path, uid, gid, f"{user['name']}\n")
        assert written.ok, written.output
        read = nfs(host, "nfs-cat", nfs_url(cluster["address"], path, uid, gid))
        assert read.ok and read.output.strip() == user["name"], read.output
        stored = cluster["fs"].file(path)
        assert (stored.uid, stored.gid) == (uid, gid)
        for other in users:
            if other["name"] == user["name"]:
                continue
            peek = nfs(
                host,
                "nfs-cat",
                nfs_url(cluster["address"], path, int(other["uid"]), cluster["people_gid"]),
            )
            assert not peek.ok, f"{other['name']} read {user['name']}'s home"


def test_root_is_squashed(host, cluster, scratch):
    """A file written as uid 0 belongs to the anonymous user on the server."""
    server = cluster["server"]
    directory = f"{server['nfs_server_home_dir']}/{_probe_name()}"
    cluster["fs"].run_expect([0], "install -d -m 1777 %s", directory)
    scratch.append(directory)
    written = _put(host, cluster, f"{directory}/by-root", 0, 0, "root\n")
    assert written.ok, written.output
    stored = cluster["fs"].file(f"{directory}/by-root")
    assert (stored.uid, stored.gid) == (
        int(server["nfs_server_anon_uid"]),
        int(server["nfs_server_anon_gid"]),
    )
    # And root cannot write where only root could.
    assert not _put(host, cluster, f"{server['nfs_server_home_dir']}/{_probe_name()}", 0, 0, "x").ok


def test_only_members_enter_a_project(host, cluster, scratch):
    server = cluster["server"]
    users = cluster["users"]
    checked = 0
    for project in server["nfs_server_projects"]:
        members = [u for u in users if project["name"] in u.get("projects", [])]
        others = [u for u in users if project["name"] not in u.get("projects", [])]
        if not members or not others:
            continue
        gid = int(project["gid"])
        member, other = members[0], others[0]
        directory = f"{server['nfs_server_projects_dir']}/{project['name']}"
        path = f"{directory}/{_probe_name()}"
        scratch.append(path)
        written = _put(host, cluster, path, int(member["uid"]), gid, "result\n")
        assert written.ok, written.output
        stored = cluster["fs"].file(path)
        # setgid directory: the file stays in the project's group.
        assert (stored.uid, stored.gid) == (int(member["uid"]), gid)
        # Someone whose groups are other projects' (or just people) gets nothing.
        other_gids = [
            int(p["gid"])
            for p in server["nfs_server_projects"]
            if p["name"] in other.get("projects", [])
        ] or [cluster["people_gid"]]
        for other_gid in other_gids:
            listing = nfs(
                host, "nfs-ls", nfs_url(cluster["address"], directory, int(other["uid"]), other_gid)
            )
            assert not listing.ok, f"{other['name']} listed {directory}: {listing.output}"
            assert "NFS4ERR_ACCESS" in listing.output, listing.output
            reading = nfs(
                host, "nfs-cat", nfs_url(cluster["address"], path, int(other["uid"]), other_gid)
            )
            assert not reading.ok, f"{other['name']} read {path}"
        checked += 1
    if not checked:
        pytest.skip(
            "not executed here: no project has both a member and a non-member in cluster_users"
        )


def test_datasets_are_read_by_all_and_written_by_admins_only(host, cluster, scratch):
    server = cluster["server"]
    users = cluster["users"]
    if not users:
        pytest.skip("not executed here: no users declared (cluster_users)")
    directory = server["nfs_server_datasets_dir"]
    published = f"{directory}/{_probe_name()}"
    cluster["fs"].run_expect([0], "printf 'data\\n' > %s && chmod 0644 %s", published, published)
    scratch.append(published)
    user = users[0]
    uid = int(user["uid"])
    read = nfs(host, "nfs-cat", nfs_url(cluster["address"], published, uid, cluster["people_gid"]))
    assert read.ok and read.output.strip() == "data", read.output
    by_user = f"{directory}/{_probe_name()}"
    scratch.append(by_user)
    assert not _put(host, cluster, by_user, uid, cluster["people_gid"], "x").ok
    by_admin = f"{directory}/{_probe_name()}"
    scratch.append(by_admin)
    written = _put(host, cluster, by_admin, uid, cluster["admins_gid"], "x")
    assert written.ok, written.output
    assert cluster["fs"].file(by_admin).gid == cluster["admins_gid"]


def test_no_nfs_unit_failed(host):
    # run-rpc_pipefs.mount must be mounted, or masked where the kernel lacks rpc_pipefs.
    failed = host.check_output(
        "systemctl list-units --failed --plain --no-legend '*rpc*' '*.mount' 'nfs*'"
    )
    assert failed.strip() == "", failed
