"""nfs_server's configuration files, rendered by Ansible itself from the real
templates with the role's defaults, for a declared cluster. The kernel
backend cannot run on this machine (no nfsd), so its exports file and
nfs.conf are checked here line by line; Ganesha's file is checked for the
access rules that its own semantics make easy to get wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.role_templates import render_templates

TEMPLATES = ["gpucluster.exports", "nfs.conf", "ganesha.conf", "nfs-ganesha-service.conf"]

CLUSTER = {
    "storage_address": "10.20.0.13",
    "storage_network": {"cidr": "10.20.0.0/24", "mtu": 9000},
    "cluster_projects": [
        {"name": "vision", "gid": 20001, "description": "Computer vision"},
        {"name": "nlp-2", "gid": 20002},
    ],
    "cluster_users": [{"name": "alice", "uid": 10001, "projects": ["vision"]}],
}


def render(tmp_path: Path, extra: dict) -> dict[str, str]:
    return render_templates("nfs_server", TEMPLATES, tmp_path, extra)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    return render(tmp_path_factory.mktemp("nfs"), CLUSTER)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_kernel_exports_one_line_per_path_to_the_storage_network_only(rendered):
    options = "rw,sync,root_squash,no_subtree_check,sec=sys,anonuid=65534,anongid=65534"
    assert _lines(rendered["gpucluster.exports"]) == [
        f"/srv/nfs/home 10.20.0.0/24({options})",
        f"/srv/nfs/projects/vision 10.20.0.0/24({options})",
        f"/srv/nfs/projects/nlp-2 10.20.0.0/24({options})",
        f"/srv/nfs/datasets 10.20.0.0/24({options})",
    ]


def test_kernel_nfsd_binds_the_storage_address_and_speaks_nfsv4_only(rendered):
    settings = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition("=") for line in _lines(rendered["nfs.conf"])[1:])
    )
    assert _lines(rendered["nfs.conf"])[0] == "[nfsd]"
    assert settings["host"] == "10.20.0.13"
    assert settings["vers3"] == settings["vers2"] == settings["udp"] == "n"
    assert settings["vers4"] == settings["vers4.2"] == "y"


def test_exports_follow_an_overridden_export_root(tmp_path):
    files = render(tmp_path, {**CLUSTER, "nfs_server_export_root": "/data/nfs"})
    paths = [line.split()[0] for line in _lines(files["gpucluster.exports"])]
    assert paths == [
        "/data/nfs/home",
        "/data/nfs/projects/vision",
        "/data/nfs/projects/nlp-2",
        "/data/nfs/datasets",
    ]


def _blocks(text: str) -> list[dict]:
    """Ganesha's configuration as nested {"name", "params", "blocks"} dicts."""
    tokens = re.findall(r"[{};=]|[^\s{};=]+", re.sub(r"#.*", "", text))
    root: dict = {"name": "", "params": {}, "blocks": []}
    stack = [root]
    i = 0
    while i < len(tokens):
        if tokens[i + 1 : i + 2] == ["{"]:
            block = {"name": tokens[i].upper(), "params": {}, "blocks": []}
            stack[-1]["blocks"].append(block)
            stack.append(block)
            i += 2
        elif tokens[i] == "}":
            stack.pop()
            i += 1
        else:
            end = tokens.index(";", i)
            assert tokens[i + 1] == "=", tokens[i : end + 1]
            stack[-1]["params"][tokens[i].lower()] = " ".join(tokens[i + 2 : end]).strip('"')
            i = end + 1
    assert stack == [root], "unbalanced braces"
    return root["blocks"]


def test_ganesha_binds_the_storage_address_nfsv4_only(rendered):
    (core,) = [b for b in _blocks(rendered["ganesha.conf"]) if b["name"] == "NFS_CORE_PARAM"]
    assert core["params"]["bind_addr"] == "10.20.0.13"
    assert core["params"]["protocols"] == "4"
    assert core["params"]["enable_udp"] == core["params"]["enable_nlm"] == "false"


def test_ganesha_exports_admit_only_the_storage_cidr(rendered):
    exports = [b for b in _blocks(rendered["ganesha.conf"]) if b["name"] == "EXPORT"]
    by_path = {e["params"]["path"]: e for e in exports}
    assert list(by_path) == [
        "/",
        "/srv/nfs/home",
        "/srv/nfs/projects/vision",
        "/srv/nfs/projects/nlp-2",
        "/srv/nfs/datasets",
    ]
    for path, export in by_path.items():
        params = export["params"]
        # EXPORT-level access admits every client: it must be None.
        assert params["access_type"] == "None", path
        assert params["squash"] == "root_squash", path
        assert params["pseudo"] == path
        (client,) = [b for b in export["blocks"] if b["name"] == "CLIENT"]
        assert client["params"]["clients"] == "10.20.0.0/24", path
        assert client["params"]["access_type"] == ("RO" if path == "/" else "RW"), path
        assert client["params"]["squash"] == "root_squash", path
        (fsal,) = [b for b in export["blocks"] if b["name"] == "FSAL"]
        assert fsal["params"]["name"] == ("PSEUDO" if path == "/" else "VFS"), path
    # Stable ids: the pseudo root 0, home 1, datasets 2, a project its gid.
    ids = {path: int(e["params"]["export_id"]) for path, e in by_path.items()}
    assert ids == {
        "/": 0,
        "/srv/nfs/home": 1,
        "/srv/nfs/projects/vision": 20001,
        "/srv/nfs/projects/nlp-2": 20002,
        "/srv/nfs/datasets": 2,
    }


def test_ganesha_gets_no_ipv6_sockets_only_for_an_ipv4_storage_address(rendered, tmp_path):
    assert "RestrictAddressFamilies=AF_INET AF_UNIX AF_NETLINK" in _lines(
        rendered["nfs-ganesha-service.conf"]
    )
    v6 = render(
        tmp_path,
        {**CLUSTER, "storage_address": "fd00:20::13", "storage_network": {"cidr": "fd00:20::/64"}},
    )
    assert _lines(v6["nfs-ganesha-service.conf"]) == ["[Service]"]
