"""Host keys for replace-node: where ssh looks them up, what counts as the same key, and
replacing one, on real known_hosts files with the real ssh-keygen, ssh -G and ansible-inventory.

(No SSH server runs here, so the key a node offers is a key made with ssh-keygen; that
ssh-keyscan reaches a live node is the end-to-end test's part.)
"""

from __future__ import annotations

import io
import socket
import subprocess
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from rich.console import Console

from gpucluster.host_keys import (
    HostKey,
    NodeSilent,
    Verdict,
    fingerprints,
    judge,
    replace_trusted,
    scan,
    trusted,
)
from gpucluster.replacement_keys import KeyDecision, decide_host_key
from gpucluster.ssh_settings import SshSettingsError, SshView, node_ssh_view
from tests.unit.host_key_helpers import found, make_key

ADDRESS = "10.10.0.101"


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, HostKey]:
    directory = tmp_path / "keys"
    directory.mkdir()
    return {name: make_key(directory / name) for name in ("old", "new", "other")}


@pytest.fixture
def known_hosts(tmp_path: Path, keys: dict[str, HostKey]) -> Path:
    """The sandbox's layout: each node filed under its address and its name."""
    file = tmp_path / "known_hosts"
    file.write_text(
        keys["old"].line(ADDRESS)
        + keys["old"].line("gpu01")
        + keys["other"].line("10.10.0.102")
        + keys["other"].line("gpu02")
    )
    return file


def view_of(known_hosts: Path, *, hashed: bool = False, address: str = ADDRESS) -> SshView:
    return SshView(
        address=address,
        port=22,
        lookup=address,
        user_files=(known_hosts,),
        global_files=(),
        hash_names=hashed,
    )


def use_known_hosts(inventory: Path, known_hosts: Path, *extra: str) -> None:
    """Point the inventory's SSH options at `known_hosts`, as the sandbox's inventory does."""
    options = " ".join(
        [f"-o UserKnownHostsFile={known_hosts}", "-o StrictHostKeyChecking=yes", *extra]
    )
    with (inventory / "group_vars" / "all.yml").open("a") as handle:
        handle.write(f"ansible_ssh_common_args: {options}\n")


# --- where ssh looks -------------------------------------------------------------------------


def test_the_inventory_names_the_known_hosts_file(inventory: Path, known_hosts: Path) -> None:
    use_known_hosts(inventory, known_hosts, "-o HashKnownHosts=no")

    view = node_ssh_view(inventory, "gpu01", ADDRESS)

    assert view.user_files == (known_hosts,)
    assert (view.lookup, view.port, view.hash_names) == (ADDRESS, 22, False)


def test_a_port_of_the_node_files_its_key_under_address_and_port(
    inventory: Path, known_hosts: Path
) -> None:
    use_known_hosts(inventory, known_hosts, "-o HashKnownHosts=yes")
    (inventory / "host_vars").mkdir()
    (inventory / "host_vars" / "gpu01.yml").write_text("---\nansible_port: 2222\n")

    view = node_ssh_view(inventory, "gpu01", ADDRESS)

    assert (view.lookup, view.port, view.hash_names) == (f"[{ADDRESS}]:2222", 2222, True)


def test_without_options_it_is_ssh_s_own_known_hosts(inventory: Path) -> None:
    view = node_ssh_view(inventory, "gpu01", ADDRESS)

    assert view.user_files[0].parts[-2:] == (".ssh", "known_hosts")


def test_ssh_options_holding_a_template_are_refused_naming_the_variable(
    inventory: Path,
) -> None:
    with (inventory / "group_vars" / "all.yml").open("a") as handle:
        handle.write("ansible_ssh_common_args: '-o UserKnownHostsFile={{ kh }}'\n")

    with pytest.raises(SshSettingsError, match="host gpu01: ansible_ssh_common_args holds a"):
        node_ssh_view(inventory, "gpu01", ADDRESS)


# --- what counts as the same key -------------------------------------------------------------


def test_judge(keys: dict[str, HostKey]) -> None:
    assert judge([keys["old"]], [keys["old"]]) is Verdict.UNCHANGED
    assert judge([keys["old"], keys["other"]], [keys["new"], keys["other"]]) is Verdict.UNCHANGED
    assert judge([keys["old"]], [keys["new"]]) is Verdict.CHANGED
    assert judge([], [keys["new"]]) is Verdict.UNKNOWN


def test_trusted_reads_plain_and_hashed_files(
    tmp_path: Path, known_hosts: Path, keys: dict[str, HostKey]
) -> None:
    assert trusted("gpu01", view_of(known_hosts)) == {known_hosts: [keys["old"]]}
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(known_hosts)], check=True)
    assert ADDRESS not in known_hosts.read_text()
    assert trusted("gpu01", view_of(known_hosts)) == {known_hosts: [keys["old"]]}
    assert trusted("gpu01", view_of(tmp_path / "absent")) == {}


def test_fingerprints_read_as_ssh_keygen_prints_them(tmp_path: Path) -> None:
    key = make_key(tmp_path / "node")
    expected = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / "node.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    (line,) = fingerprints("gpu01", [key], ADDRESS)

    bits, fingerprint, label, kind = line.split()
    assert fingerprint.startswith("SHA256:")
    assert (bits, fingerprint, kind) == (expected[0], expected[1], expected[-1])
    assert (label, kind) == (ADDRESS, "(ED25519)")


def test_a_silent_node_is_named(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a local port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    view = SshView("127.0.0.1", port, f"[127.0.0.1]:{port}", (tmp_path / "kh",), (), False)

    with pytest.raises(NodeSilent, match=f"host gpu01: no SSH host key from 127.0.0.1 port {port}"):
        scan("gpu01", view)


# --- replacing the trusted key ---------------------------------------------------------------


@pytest.mark.parametrize("hashed", [False, True])
def test_replace_takes_the_old_key_out_and_trusts_the_new_one(
    known_hosts: Path, keys: dict[str, HostKey], hashed: bool
) -> None:
    view = view_of(known_hosts, hashed=hashed)
    before = known_hosts.read_text()

    notes = replace_trusted("gpu01", view, [keys["new"]], also=["gpu01"])

    for host in (ADDRESS, "gpu01"):
        assert found(known_hosts, host) == [keys["new"]]
    assert found(known_hosts, "10.10.0.102") == [keys["other"]]  # other nodes untouched
    assert keys["old"].blob not in known_hosts.read_text()
    assert (ADDRESS in known_hosts.read_text()) is not hashed
    assert Path(f"{known_hosts}.old").read_text() == before
    assert any("removed the keys of 10.10.0.101, gpu01" in note for note in notes)


def test_replace_into_a_file_not_there_yet(tmp_path: Path, keys: dict[str, HostKey]) -> None:
    file = tmp_path / "ssh" / "known_hosts"

    replace_trusted("gpu01", view_of(file), [keys["new"]], also=["gpu01"])

    assert found(file, ADDRESS) == [keys["new"]]
    assert found(file, "gpu01") == []  # the name had no line: none is added for it
    assert file.stat().st_mode & 0o777 == 0o600


# --- the decision, as the operator sees it ---------------------------------------------------


def decide(view: SshView, offered: HostKey, accept: bool) -> tuple[KeyDecision, str]:
    console = Console(file=io.StringIO(), width=200, highlight=False)
    decision = decide_host_key(
        console, "gpu01", view, [offered], accept=accept, old_address=IPv4Address(ADDRESS)
    )
    return decision, console.file.getvalue()  # type: ignore[attr-defined]


def test_the_same_key_needs_no_flag(known_hosts: Path, keys: dict[str, HostKey]) -> None:
    before = known_hosts.read_bytes()

    decision, out = decide(view_of(known_hosts), keys["old"], accept=False)

    assert decision is KeyDecision.KEPT
    assert "SHA256:" in out and "trusted already" in out
    assert known_hosts.read_bytes() == before


def test_a_new_key_without_the_flag_is_refused_naming_its_fingerprint(
    known_hosts: Path, keys: dict[str, HostKey]
) -> None:
    before = known_hosts.read_bytes()
    (new_fingerprint,) = fingerprints("gpu01", [keys["new"]], ADDRESS)
    (old_fingerprint,) = fingerprints("gpu01", [keys["old"]], ADDRESS)

    decision, out = decide(view_of(known_hosts), keys["new"], accept=False)

    assert decision is KeyDecision.REFUSED
    assert new_fingerprint in out and old_fingerprint in out
    error = next(line for line in out.splitlines() if line.startswith("error:"))
    assert f"host gpu01: the host key {ADDRESS} offers is not the one trusted in" in error
    assert "console" in error and "--accept-new-host-key" in error and "nothing changed" in error
    assert known_hosts.read_bytes() == before
    assert not Path(f"{known_hosts}.old").exists()


def test_a_node_never_trusted_is_refused_without_the_flag(
    tmp_path: Path, keys: dict[str, HostKey]
) -> None:
    decision, out = decide(view_of(tmp_path / "empty"), keys["new"], accept=False)

    assert decision is KeyDecision.REFUSED
    assert f"no host key of {ADDRESS} is trusted" in out
    assert not (tmp_path / "empty").exists()


def test_with_the_flag_the_old_key_goes_and_the_new_one_is_trusted(
    known_hosts: Path, keys: dict[str, HostKey]
) -> None:
    decision, out = decide(view_of(known_hosts), keys["new"], accept=True)

    assert decision is KeyDecision.REPLACED
    assert "SHA256:" in out and "--accept-new-host-key" in out
    assert found(known_hosts, ADDRESS) == [keys["new"]]
    assert found(known_hosts, "gpu01") == [keys["new"]]
    assert keys["old"].blob not in known_hosts.read_text()


def test_a_new_address_also_drops_the_key_at_the_old_one(
    known_hosts: Path, keys: dict[str, HostKey]
) -> None:
    view = view_of(known_hosts, address="10.10.0.151")

    decision, _ = decide(view, keys["new"], accept=True)

    assert decision is KeyDecision.REPLACED
    assert found(known_hosts, "10.10.0.151") == [keys["new"]]
    assert found(known_hosts, ADDRESS) == []  # the old address no longer vouches for anyone
    assert found(known_hosts, "gpu01") == [keys["new"]]
