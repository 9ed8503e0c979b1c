"""The inventory lock, held by real processes: who waits, who fails, what they are told."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from multiprocessing import get_context
from pathlib import Path

import pytest

from gpucluster.cli import main
from gpucluster.commands import EXIT_LOCKED
from gpucluster.lock import LockBusy, LockMode, current_holders, inventory_lock

HOLD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gpucluster.lock import LockMode, inventory_lock
    with inventory_lock(Path(sys.argv[1]), LockMode(sys.argv[2]), sys.argv[3]):
        print("held", flush=True)
        sys.stdin.read()  # until the test closes our stdin
    """
)


class Holder:
    """A separate process holding the inventory's lock until released or killed."""

    def __init__(self, inventory: Path, mode: str, command: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(inventory), mode, command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "held"

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def holders():
    started: list[Holder] = []

    def start(inventory: Path, mode: str = "exclusive", command: str = "gpucluster install"):
        holder = Holder(inventory, mode, command)
        started.append(holder)
        return holder

    yield start
    for holder in started:
        if holder.process.poll() is None:
            holder.kill()


def _take(inventory: Path, mode: LockMode) -> None:
    """Take the lock and let go at once, failing (LockBusy) rather than waiting."""
    with inventory_lock(inventory, mode, "me", wait=False):
        pass


def test_no_wait_names_the_holder(inventory, holders):
    holder = holders(inventory, command="gpucluster install -i inv")
    with pytest.raises(LockBusy) as busy:
        _take(inventory, LockMode.EXCLUSIVE)
    message = str(busy.value)
    assert "gpucluster install -i inv" in message
    assert f"pid {holder.process.pid}" in message
    assert "since" in message and "exclusive" in message


def test_shared_holders_coexist_and_keep_out_an_exclusive_one(inventory, holders):
    first = holders(inventory, "shared", "gpucluster verify")
    second = holders(inventory, "shared", "gpucluster install --check")
    with inventory_lock(inventory, LockMode.SHARED, "me", wait=False):
        assert {h.pid for h in current_holders(inventory)} >= {
            first.process.pid,
            second.process.pid,
            os.getpid(),
        }
    with pytest.raises(LockBusy) as busy:
        _take(inventory, LockMode.EXCLUSIVE)
    assert "gpucluster verify" in str(busy.value)
    assert "gpucluster install --check" in str(busy.value)


def test_a_waiter_is_told_who_holds_it_and_gets_it_when_released(inventory, holders):
    holder = holders(inventory, command="gpucluster add-node gpu03")
    told: list[str] = []

    def on_wait(found):
        told.append("; ".join(h.describe() for h in found))
        holder.release()

    with inventory_lock(inventory, LockMode.EXCLUSIVE, "me", on_wait=on_wait):
        assert [h.pid for h in current_holders(inventory)] == [os.getpid()]
    assert told and "gpucluster add-node gpu03" in told[0]


def test_a_killed_holder_leaves_no_lock_and_no_live_record(inventory, holders):
    holder = holders(inventory)
    holder.kill()
    assert current_holders(inventory) == []  # its record names a pid that is gone
    with inventory_lock(inventory, LockMode.EXCLUSIVE, "me", wait=False):
        pass


def test_the_directory_and_its_hosts_file_share_one_lock(inventory, holders):
    holders(inventory / "hosts.yml")
    with pytest.raises(LockBusy):
        _take(inventory, LockMode.SHARED)


def test_cli_no_wait_exits_4_and_changes_nothing(inventory, holders, capsys):
    holders(inventory, command="gpucluster user add bob")
    hosts = inventory / "hosts.yml"
    before = hosts.read_bytes()
    argv = [
        "add-node", "gpu03", "--group", "gpu", "--address", "10.10.0.103",
        "--storage-address", "10.20.0.103", "--edit-only", "--no-wait", "-i", str(inventory),
    ]  # fmt: skip
    assert main(argv) == EXIT_LOCKED
    out = capsys.readouterr().out
    assert "locked by gpucluster user add bob" in out and "nothing done" in out
    assert hosts.read_bytes() == before
    # Reading commands that take no lock still answer.
    assert main(["check", "--offline", "-i", str(inventory), "--no-wait"]) == 0


def _add(inventory: str, number: int) -> int:
    return main(
        [
            "add-node",
            f"gpu{number:02d}",
            "--group",
            "gpu",
            "--address",
            f"10.10.0.{100 + number}",
            "--storage-address",
            f"10.20.0.{100 + number}",
            "--edit-only",
            "-i",
            inventory,
        ]
    )


def test_concurrent_edits_all_land(inventory):
    """Without the lock, most of these fail with "changed by someone else during the edit"."""
    numbers = range(10, 16)
    with get_context("fork").Pool(len(numbers)) as pool:
        codes = pool.starmap(_add, [(str(inventory), number) for number in numbers])
    assert codes == [0] * len(numbers)
    text = (inventory / "hosts.yml").read_text()
    assert all(f"gpu{number}:" in text for number in numbers)


def test_a_waiting_cli_says_who_it_waits_for(inventory, holders, state_dir, tmp_path):
    holder = holders(inventory, command="gpucluster install -i slow")
    waiter = subprocess.Popen(
        [sys.executable, "-m", "gpucluster.cli", "project", "add", "speech", "--edit-only",
         "-i", str(inventory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "GPUCLUSTER_STATE_DIR": str(state_dir)},
    )  # fmt: skip
    assert waiter.stdout is not None
    line = waiter.stdout.readline()
    assert "waiting for the lock" in line and "gpucluster install -i slow" in line
    time.sleep(0.5)
    assert waiter.poll() is None  # still waiting
    holder.release()
    assert waiter.wait(timeout=60) == 0
    assert "speech" in (inventory / "group_vars" / "all.yml").read_text()
