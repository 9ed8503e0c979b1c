"""`gpucluster replace-node`: the key decision, the edit and the run, wired together.

Real inventory files, known_hosts files and OpenSSH tools. Two things are stood in for: the
key the node offers (no SSH server runs here: the "node" is a key made with ssh-keygen, handed
over where ssh-keyscan's answer would be) and the playbook run (recorded, not run).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gpucluster.cli import build_parser, main
from gpucluster.commands import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PARTIAL,
    locking,
    replace_node,
)
from gpucluster.host_keys import HostKey, NodeSilent, fingerprints
from gpucluster.lock import LockMode, inventory_lock
from gpucluster.run_result import HostStats, RunResult
from gpucluster.runner import RunRequest, fact_cache_dir
from tests.unit.host_key_helpers import found, make_key

ADDRESS = "10.10.0.101"
NEW_MAC = "3c:fd:fe:00:09:01"


class Node:
    """The machine behind gpu01's address: its host key, as ssh-keyscan would report it."""

    def __init__(self, key: HostKey) -> None:
        self.key = key
        self.scans = 0

    def scan(self, name: str, view: object) -> list[HostKey]:
        self.scans += 1
        return [self.key]


@pytest.fixture
def old_key(tmp_path: Path) -> HostKey:
    return make_key(tmp_path / "old_host_key")


@pytest.fixture
def new_key(tmp_path: Path) -> HostKey:
    return make_key(tmp_path / "new_host_key")


@pytest.fixture
def known_hosts(tmp_path: Path, inventory: Path, old_key: HostKey) -> Path:
    """gpu01's old key, filed as the sandbox files it (address and name), and the inventory
    pointing ssh at this file."""
    file = tmp_path / "known_hosts"
    file.write_text(old_key.line(ADDRESS) + old_key.line("gpu01"))
    options = f"-o UserKnownHostsFile={file} -o StrictHostKeyChecking=yes -o HashKnownHosts=no"
    with (inventory / "group_vars" / "all.yml").open("a") as handle:
        handle.write(f"ansible_ssh_common_args: {options}\n")
    return file


@pytest.fixture
def node(monkeypatch: pytest.MonkeyPatch, new_key: HostKey) -> Node:
    machine = Node(new_key)
    monkeypatch.setattr(replace_node, "scan", machine.scan)
    return machine


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[RunRequest]:
    """The runs replace-node starts, recorded instead of run; each succeeds."""
    seen: list[RunRequest] = []

    def fake_run(console: object, title: str, request: RunRequest) -> RunResult:
        seen.append(request)
        result = RunResult(run_dir=Path("/r"), status="successful", rc=0, elapsed_s=0.0)
        result.judge(request.must_succeed_on)
        return result

    monkeypatch.setattr(replace_node, "run_with_progress", fake_run)
    return seen


def replace(inventory: Path, *extra: str) -> list[str]:
    return ["replace-node", "gpu01", "--storage-mac", NEW_MAC, *extra, "-i", str(inventory)]


def test_the_parser_mirrors_add_node_and_takes_the_exclusive_lock() -> None:
    args = build_parser().parse_args(
        [
            "replace-node",
            "gpu01",
            "--address",
            "10.10.0.151",
            "--storage-address",
            "10.20.0.151",
            "--storage-mac",
            NEW_MAC,
            "--storage-interface",
            "ens2f0",
            "--accept-new-host-key",
            "--edit-only",
            "--no-wait",
            "-i",
            "inv",
        ]
    )
    change = replace_node.change_from(args)
    assert change.values() == {
        "ansible_host": "10.10.0.151",
        "storage_address": "10.20.0.151",
        "storage_interface": "ens2f0",
        "storage_mac": NEW_MAC,
    }
    assert args.accept_new_host_key and args.edit_only and args.no_wait
    assert args.handler is replace_node.run and args.lock is locking.exclusive


def test_a_new_key_without_the_flag_exits_2_and_changes_nothing(
    inventory: Path, known_hosts: Path, node: Node, runs: list[RunRequest], capsys
) -> None:
    hosts_before = (inventory / "hosts.yml").read_bytes()
    keys_before = known_hosts.read_bytes()
    (fingerprint,) = fingerprints("gpu01", [node.key], ADDRESS)

    assert main(replace(inventory)) == EXIT_BAD_INPUT

    out = capsys.readouterr().out
    assert fingerprint in out
    assert "compare the fingerprint above with the one on gpu01's console" in out
    assert "--accept-new-host-key; nothing changed" in out
    assert (inventory / "hosts.yml").read_bytes() == hosts_before
    assert known_hosts.read_bytes() == keys_before
    assert runs == []


def test_with_the_flag_the_key_the_edit_and_the_run_follow(
    inventory: Path,
    known_hosts: Path,
    node: Node,
    runs: list[RunRequest],
    old_key: HostKey,
    capsys,
) -> None:
    facts = fact_cache_dir(inventory) / "gpu01"
    facts.parent.mkdir(parents=True)
    facts.write_text('{"ansible_default_ipv4": {}}')  # the old machine's

    assert main(replace(inventory, "--accept-new-host-key")) == EXIT_OK

    out = capsys.readouterr().out
    assert "gpu01: trusting the new host key (--accept-new-host-key)" in out
    assert f"set storage_mac {NEW_MAC} for gpu01" in out
    assert found(known_hosts, ADDRESS) == [node.key]
    assert found(known_hosts, "gpu01") == [node.key]
    assert old_key.blob not in known_hosts.read_text()
    assert f'storage_mac: "{NEW_MAC}"' in (inventory / "hosts.yml").read_text()
    assert not facts.exists()
    (request,) = runs
    assert request.playbook == "replace-node.yml"
    assert request.command_name == "replace-node"
    assert request.extravars == {"gpucluster_new_nodes": ["gpu01"]}
    assert request.must_succeed_on == frozenset({"gpu01"})


def test_a_repeat_finishes_the_job_without_the_flag(
    inventory: Path, known_hosts: Path, node: Node, runs: list[RunRequest], capsys
) -> None:
    assert main(replace(inventory, "--accept-new-host-key")) == EXIT_OK
    hosts_after = (inventory / "hosts.yml").read_bytes()
    keys_after = known_hosts.read_bytes()
    capsys.readouterr()

    assert main(replace(inventory)) == EXIT_OK

    out = capsys.readouterr().out
    assert "gpu01: this host key is trusted already" in out
    assert "gpu01 already has these values" in out and "nothing to edit" in out
    assert (inventory / "hosts.yml").read_bytes() == hosts_after
    assert known_hosts.read_bytes() == keys_after
    assert len(runs) == 2


def test_the_same_key_needs_no_flag(
    inventory: Path, known_hosts: Path, node: Node, runs: list[RunRequest], old_key: HostKey
) -> None:
    node.key = old_key  # same disks, same keys: only the NIC changed
    keys_before = known_hosts.read_bytes()

    assert main(replace(inventory)) == EXIT_OK

    assert known_hosts.read_bytes() == keys_before
    assert len(runs) == 1


def test_edit_only_stops_before_the_run(
    inventory: Path, known_hosts: Path, node: Node, runs: list[RunRequest]
) -> None:
    assert main(replace(inventory, "--accept-new-host-key", "--edit-only")) == EXIT_OK
    assert runs == []
    assert found(known_hosts, ADDRESS) == [node.key]


def test_an_unknown_node_is_refused_before_any_key_is_fetched(
    inventory: Path, known_hosts: Path, node: Node, runs: list[RunRequest], capsys
) -> None:
    argv = ["replace-node", "gpu09", "--accept-new-host-key", "-i", str(inventory)]

    assert main(argv) == EXIT_BAD_INPUT

    out = capsys.readouterr().out
    assert f"error: {inventory / 'hosts.yml'}: host gpu09: not in the inventory" in out
    assert node.scans == 0 and runs == []


def test_a_bad_value_is_refused_before_any_key_is_fetched(
    inventory: Path, known_hosts: Path, node: Node, runs: list[RunRequest], capsys
) -> None:
    argv = ["replace-node", "gpu01", "--storage-address", "10.30.0.101", "-i", str(inventory)]

    assert main([*argv, "--accept-new-host-key"]) == EXIT_BAD_INPUT

    assert "storage_address: 10.30.0.101 is not in storage_network" in capsys.readouterr().out
    assert node.scans == 0 and runs == []


def test_a_silent_node_exits_1_and_changes_nothing(
    inventory: Path, known_hosts: Path, runs: list[RunRequest], monkeypatch, capsys
) -> None:
    def silent(name: str, view: object) -> list[HostKey]:
        raise NodeSilent(f"host {name}: no SSH host key from {ADDRESS} port 22 within 10s")

    monkeypatch.setattr(replace_node, "scan", silent)
    hosts_before = (inventory / "hosts.yml").read_bytes()

    assert main(replace(inventory, "--accept-new-host-key")) == EXIT_FAILED

    out = capsys.readouterr().out
    assert "error: host gpu01: no SSH host key from 10.10.0.101" in out
    assert (inventory / "hosts.yml").read_bytes() == hosts_before and runs == []


def test_a_lagging_peer_makes_it_partial(
    inventory: Path, known_hosts: Path, node: Node, monkeypatch, capsys
) -> None:
    def partial_run(console: object, title: str, request: RunRequest) -> RunResult:
        hosts = {"gpu01": HostStats(ok=5, changed=3), "gpu02": HostStats(unreachable=1)}
        result = RunResult(run_dir=Path("/r"), status="failed", rc=4, elapsed_s=1.0, hosts=hosts)
        result.judge(request.must_succeed_on)
        return result

    monkeypatch.setattr(replace_node, "run_with_progress", partial_run)

    assert main(replace(inventory, "--accept-new-host-key")) == EXIT_PARTIAL


def test_it_waits_for_no_one_with_no_wait(
    inventory: Path, known_hosts: Path, node: Node, runs: list[RunRequest]
) -> None:
    hosts_before = (inventory / "hosts.yml").read_bytes()
    with inventory_lock(inventory, LockMode.SHARED, "gpucluster verify", wait=False):
        assert main(replace(inventory, "--accept-new-host-key", "--no-wait")) == EXIT_LOCKED
    assert (inventory / "hosts.yml").read_bytes() == hosts_before
    assert node.scans == 0
