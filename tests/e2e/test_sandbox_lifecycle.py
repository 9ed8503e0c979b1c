"""End to end: the cluster grows, changes and shrinks, and stays correct when runs fail,
are cut short or race each other.

Runs after test_sandbox_cluster.py on the same installed sandbox (file order). One new GPU
node goes through its whole life: added while it is still off and again while an existing node
is off, caught up, rolled, replaced and removed. Each drill breaks something the way it breaks
in a machine room (a node powered off during add-node, an operator's Ctrl-C, a controller
killed, two operators at once) and shows that repeating the command, or the catch-up command
the CLI prints, finishes the job.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ruamel.yaml import YAML

from gpucluster.sandbox.layout import CLUSTER_DOMAIN, gpu_node
from tests.e2e.conftest import ORIGINAL_NODES, ROOT, docker_exec
from tests.infra.monitoring_helpers import wait_for

NEW_NODE = "gpu02"
STRAGGLER = "login01"
ADD_NODE_PLAY = "Existing nodes learn about the new nodes"
TARGETS_PLAY = "Prometheus scrapes the new nodes, once they run their exporter"
TARGETS_TASK = "Write the scrape targets of every node and GPU node"


def _add_node_plays(node: str) -> set[str]:
    """What a completed add-node runs on an existing node: its /etc/hosts, and on the
    management node Prometheus' target file."""
    return {ADD_NODE_PLAY, TARGETS_PLAY} if node == "mgmt01" else {ADD_NODE_PLAY}


def _docker(*argv: str) -> None:
    subprocess.run(["docker", *argv], check=True, capture_output=True, timeout=120)


def _wait_for_sshd(node: str, timeout: float = 90) -> None:
    """A restarted node container is back once systemd has started its SSH daemon."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if docker_exec(node, "systemctl", "is-active", "ssh").stdout.strip() == "active":
            return
        time.sleep(1)
    raise AssertionError(f"{node}: sshd did not come back within {timeout:.0f}s")


# Containers have no kernel NFS client: the mount units nfs_client writes and enables fail
# whenever something starts them here (at boot, or a login pulling in /home); on real nodes
# they mount. `status` rightly reports them; the drills clear them to look at what they test.
CLEAR_FAILED_NFS_MOUNTS = (
    "for unit in $(systemctl list-units --state=failed --plain --no-legend '*.mount'"
    " | awk '{print $1}'); do"
    ' [ -f "/etc/systemd/system/$unit" ] && systemctl reset-failed "$unit"; done; true'
)
NODES = [*ORIGINAL_NODES, NEW_NODE]


def _clear_failed_nfs_mounts() -> None:
    for node in NODES:
        docker_exec(node, "sh", "-c", CLEAR_FAILED_NFS_MOUNTS)


def _settle_after_boot(node: str) -> None:
    """Wait for the restarted node's boot to finish, then clear the sandbox's NFS mount failures."""
    docker_exec(node, "timeout", "50", "systemctl", "is-system-running", "--wait")
    _clear_failed_nfs_mounts()


def _cli(state_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, GPUCLUSTER_STATE_DIR=str(state_dir), COLUMNS="160")
    return subprocess.Popen(
        [sys.executable, "-m", "gpucluster.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _newest_summary(state_dir: Path, command_word: str, after: float) -> dict | None:
    """The summary of the newest run directory named for `command_word` started after `after`."""
    runs = sorted((state_dir / "runs").glob(f"*-{command_word}*"), key=lambda p: p.name)
    for run_dir in reversed(runs):
        summary = run_dir / "summary.json"
        if summary.exists() and summary.stat().st_mtime >= after:
            return json.loads(summary.read_text())
    return None


def _wait_until_running(state_dir: Path, command_word: str, after: float) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        summary = _newest_summary(state_dir, command_word, after)
        if summary is not None and summary.get("outcome") == "running":
            return
        time.sleep(0.5)
    raise AssertionError(f"no running {command_word} recorded")


def _playbooks_running_on(inventory: Path) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [
        line
        for line in listing.stdout.splitlines()
        if "ansible-playbook" in line and str(inventory) in line
    ]


def _new_node_names() -> tuple[tuple[str, str], ...]:
    node = gpu_node(NEW_NODE)
    return (
        (f"{NEW_NODE}.{CLUSTER_DOMAIN}", str(node.address)),
        (f"{NEW_NODE}-storage", str(node.storage_address)),
    )


def _assert_resolves_the_new_node(nodes: list[str]) -> None:
    """Names Docker's embedded DNS cannot answer, so only /etc/hosts resolves them."""
    for node in nodes:
        for name, address in _new_node_names():
            resolved = docker_exec(node, "getent", "hosts", name)
            assert resolved.returncode == 0, (node, name, resolved.stderr)
            assert resolved.stdout.split()[0] == address, (node, name, resolved.stdout)


def test_a_failed_add_node_finishes_when_repeated_and_names_the_node_that_lags(
    gpucluster, sandbox_inventory
):
    booted = gpucluster("sandbox", "add", NEW_NODE)
    assert booted.rc == 0, booted.output
    # The printed command may wrap before its inventory path: take it up to `-i`.
    printed = booted.output.split("next: gpucluster ", 1)[1].split(" -i", 1)[0]
    add_node = [*shlex.split(printed), "-i", str(sandbox_inventory)]

    # The new machine is off: the run fails, but its inventory entry is already made.
    _docker("stop", f"gpucluster-{NEW_NODE}")
    failed = gpucluster(*add_node)
    assert failed.rc == 1, failed.output
    # The existing nodes ran only the play that teaches them the new node, and learnt it.
    # Nothing after it ran: Ansible ends the run when the play's only host (the new node)
    # is unreachable, so Prometheus is not told of the node until add-node is repeated.
    for node in ORIGINAL_NODES:
        plays = {task["play"] for task in failed.summary["tasks"][node]}
        assert plays == {ADD_NODE_PLAY}, (node, plays)
        assert failed.summary["hosts"][node]["changed"] >= 1  # their /etc/hosts block
    _docker("start", f"gpucluster-{NEW_NODE}")
    _wait_for_sshd(NEW_NODE)

    # Repeated with an existing node off: the new node is provisioned, the command says partial.
    _docker("stop", f"gpucluster-{STRAGGLER}")
    try:
        partial = gpucluster(*add_node)
    finally:
        _docker("start", f"gpucluster-{STRAGGLER}")
    assert partial.rc == 3, partial.output
    assert "nothing to edit" in partial.output
    assert f"catch up: gpucluster install --limit {STRAGGLER}" in partial.output
    summary = partial.summary
    assert summary["outcome"] == "partial"
    assert summary["hosts"][NEW_NODE]["failed"] == summary["hosts"][NEW_NODE]["unreachable"] == 0
    assert summary["hosts"][NEW_NODE]["changed"] > 0
    assert summary["lagging"][STRAGGLER]["status"] == "unreachable"
    # The existing nodes it reached ran only the add-node plays again, and had nothing left
    # to learn but Prometheus' targets on the management node: the first attempt ended with
    # the unreachable new node, before that play.
    reached = [node for node in ORIGINAL_NODES if node != STRAGGLER]
    for node in reached:
        plays = {task["play"] for task in summary["tasks"][node]}
        assert plays == _add_node_plays(node), (node, plays)
        changed = [task["task"] for task in summary["tasks"][node] if task["status"] == "changed"]
        assert changed == ([TARGETS_TASK] if node == "mgmt01" else []), (node, changed)
    _assert_resolves_the_new_node([*reached, NEW_NODE])
    storage_address = str(gpu_node(NEW_NODE).storage_address)
    storage = docker_exec(NEW_NODE, "ip", "-o", "-4", "addr", "show", "to", storage_address)
    assert f"{storage_address}/24" in storage.stdout, storage.stdout


def test_the_lagging_node_catches_up_with_the_printed_command(gpucluster, sandbox_inventory):
    _wait_for_sshd(STRAGGLER)
    _settle_after_boot(STRAGGLER)
    lagging = gpucluster("status", "-i", str(sandbox_inventory))
    assert lagging.rc == 3, lagging.output
    assert "lagging nodes" in lagging.output and STRAGGLER in lagging.output

    caught_up = gpucluster("install", "--limit", STRAGGLER, "-i", str(sandbox_inventory))
    assert caught_up.rc == 0, caught_up.output
    _assert_resolves_the_new_node([STRAGGLER])
    _clear_failed_nfs_mounts()
    healthy = gpucluster("status", "-i", str(sandbox_inventory))
    assert healthy.rc == 0, healthy.output
    assert "lagging nodes" not in healthy.output


def test_install_after_add_node_changes_nothing(gpucluster, sandbox_inventory):
    """add-node's own plays on the existing nodes, and the catch-up, left them exactly as a
    whole install leaves them; the new node is converged too."""
    result = gpucluster("install", "-i", str(sandbox_inventory))
    assert result.rc == 0, result.output
    assert result.summary["changed_total"] == 0
    assert NEW_NODE in result.summary["hosts"]


def test_a_killed_install_is_recorded_interrupted_and_a_rerun_converges(
    gpucluster, sandbox_inventory, state_dir
):
    started = time.time()
    install = _cli(state_dir, "install", "--limit", NEW_NODE, "-i", str(sandbox_inventory))
    _wait_until_running(state_dir, "install", started)
    time.sleep(3)
    install.kill()  # SIGKILL: the controller gets no chance to write anything
    install.communicate(timeout=30)

    deadline = time.monotonic() + 30
    while _playbooks_running_on(sandbox_inventory) and time.monotonic() < deadline:
        time.sleep(1)
    assert not _playbooks_running_on(sandbox_inventory), "ansible-playbook outlived its CLI"
    status = gpucluster("status", "-i", str(sandbox_inventory))
    assert "install: interrupted" in status.output, status.output
    runs = gpucluster("runs", "-i", str(sandbox_inventory))
    assert runs.rc == 0 and "interrupted" in runs.output, runs.output

    rerun = gpucluster("install", "--limit", NEW_NODE, "-i", str(sandbox_inventory))
    assert rerun.rc == 0, rerun.output
    assert rerun.summary["outcome"] == "succeeded"


def test_an_interrupted_user_add_finishes_when_repeated(gpucluster, sandbox_inventory, state_dir):
    key = state_dir / "sandbox" / "users" / "erin"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    user_add = ["user", "add", "erin", "--project", "vision", "--ssh-key", f"{key}.pub"]
    user_add += ["-i", str(sandbox_inventory)]
    started = time.time()
    interrupted = _cli(state_dir, *user_add)
    _wait_until_running(state_dir, "user", started)
    interrupted.send_signal(signal.SIGTERM)
    output, _ = interrupted.communicate(timeout=60)
    assert interrupted.returncode == 143, output
    assert _newest_summary(state_dir, "user", started)["outcome"] == "interrupted"

    repeated = gpucluster(*user_add)
    assert repeated.rc == 0, repeated.output
    assert "already declared" in repeated.output
    assert docker_exec("login01", "getent", "passwd", "erin").returncode == 0


ROLL_MARK = "/var/lib/gpucluster/roll-pending/restart-docker"  # role common's common_roll_dir


def _docker_restart_window(node: str) -> tuple[int, int]:
    """When docker last began to stop and when it was last up again, in microseconds of the
    kernel's monotonic clock: the sandbox nodes share one kernel, so nodes compare."""
    shown = docker_exec(
        node, "systemctl", "show", "docker", "-p", "ActiveExitTimestampMonotonic",
        "-p", "ActiveEnterTimestampMonotonic",
    ).stdout  # fmt: skip
    values = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    return int(values["ActiveExitTimestampMonotonic"]), int(values["ActiveEnterTimestampMonotonic"])


def test_a_docker_change_rolls_over_the_gpu_nodes_and_stops_at_a_failure(
    gpucluster, sandbox_inventory
):
    """A daemon.json change restarts Docker on one GPU node at a time; a node whose restart
    fails stops the roll before the next node, which keeps its old runtime and its mark; the
    next install, with the fault fixed, finishes the roll."""
    gpu_nodes = ["gpu01", NEW_NODE]
    host_vars = sandbox_inventory / "host_vars"
    host_vars.mkdir(exist_ok=True)
    # The first node in the roll gets a value dockerd refuses (the role keeps keys it does not
    # manage, so the fault is a bad value of a key the inventory sets); the other a valid one.
    (host_vars / "gpu01.yml").write_text("docker_daemon_options: {max-concurrent-uploads: three}\n")
    (host_vars / f"{NEW_NODE}.yml").write_text(
        "docker_daemon_options: {max-concurrent-uploads: 3}\n"
    )
    untouched = _docker_restart_window(NEW_NODE)
    try:
        stopped = gpucluster("install", "--limit", "gpu", "-i", str(sandbox_inventory))
        assert stopped.rc == 1, stopped.output
        assert "gpu01" in stopped.output and "Restart the container runtimes" in stopped.output
        assert _docker_restart_window(NEW_NODE) == untouched, "the roll went past a failed node"
        assert docker_exec(NEW_NODE, "test", "-f", ROLL_MARK).returncode == 0
        assert docker_exec("gpu01", "test", "-f", ROLL_MARK).returncode == 0
        status = gpucluster("status", "-i", str(sandbox_inventory))
        left = status.output.split("left to the roll:", 1)[1].split("\n", 1)[0]
        assert "gpu01" in left and NEW_NODE in left, status.output
    finally:
        (host_vars / "gpu01.yml").write_text("docker_daemon_options: {max-concurrent-uploads: 3}\n")
    # An operator's fix takes longer than systemd's start-limit window (docker.service allows
    # 3 starts in 60 s, and its Restart= used them up): end that window instead of waiting.
    docker_exec("gpu01", "systemctl", "reset-failed", "docker")

    finished = gpucluster("install", "--limit", "gpu", "-i", str(sandbox_inventory))
    (host_vars / "gpu01.yml").unlink()
    (host_vars / f"{NEW_NODE}.yml").unlink()
    assert finished.rc == 0, finished.output
    for node in gpu_nodes:  # no Kubernetes control plane here: the drain is skipped, and said so
        steps = {task["task"]: task["status"] for task in finished.summary["tasks"][node]}
        assert steps["Report that nothing was drained"] == "ok"
        assert steps["Drain the nodes"] == "skipped"
        assert steps["Report that nothing was uncordoned"] == "ok"
        assert steps["Restart the container runtimes the roles left to the roll"] == "changed"
    windows = sorted(_docker_restart_window(node) for node in gpu_nodes)
    assert windows[1][0] != untouched[0], f"{NEW_NODE} was never restarted"
    # One node at a time: the first was up again before the second began to stop.
    assert windows[0][1] <= windows[1][0], windows
    for node in gpu_nodes:
        assert docker_exec(node, "test", "-e", ROLL_MARK).returncode == 1, node
        options = docker_exec(node, "cat", "/etc/docker/daemon.json").stdout
        assert '"max-concurrent-uploads": 3' in options, (node, options)
        assert docker_exec(node, "systemctl", "is-active", "docker").returncode == 0, node


def test_twelve_concurrent_edits_of_one_inventory_all_land(gpucluster, sandbox_inventory, tmp_path):
    inventory = tmp_path / "inventory"
    shutil.copytree(sandbox_inventory, inventory)

    def add(index: int):
        return gpucluster(
            "add-node", f"gpu{50 + index}", "--group", "gpu",
            "--address", f"10.221.0.{150 + index}",
            "--storage-address", f"10.222.0.{150 + index}",
            "--storage-mac", f"02:42:0a:de:00:{150 + index:02x}",
            "--edit-only", "-i", str(inventory),
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(add, range(12)))
    assert [result.rc for result in results] == [0] * 12, [r.output for r in results]
    hosts = YAML(typ="safe").load((inventory / "hosts.yml").read_text())
    gpu_nodes = hosts["all"]["children"]["gpu"]["hosts"]
    assert {f"gpu{50 + index}" for index in range(12)} <= set(gpu_nodes)


def _trusted_key_lines(known_hosts: Path, name: str) -> str:
    found = subprocess.run(
        ["ssh-keygen", "-F", name, "-f", str(known_hosts)], capture_output=True, text=True
    )
    return found.stdout


def test_replace_node_swaps_hardware_under_the_old_name(gpucluster, sandbox_inventory, state_dir):
    hosts_file = sandbox_inventory / "hosts.yml"
    known_hosts = state_dir / "sandbox" / "known_hosts"
    node = gpu_node(NEW_NODE)
    address, storage_address = str(node.address), str(node.storage_address)
    old_mac = YAML(typ="safe").load(hosts_file.read_text())["all"]["children"]["gpu"]["hosts"][
        NEW_NODE
    ]["storage_mac"]

    swapped = gpucluster("sandbox", "replace", NEW_NODE)
    assert swapped.rc == 0, swapped.output
    new_mac = swapped.output.split("--storage-mac ", 1)[1].split()[0]
    assert new_mac.lower() != str(old_mac).lower()
    new_key = docker_exec(NEW_NODE, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1]
    assert new_key not in _trusted_key_lines(known_hosts, NEW_NODE)

    replace = ["replace-node", NEW_NODE, "--storage-mac", new_mac, "-i", str(sandbox_inventory)]
    before = (hosts_file.read_bytes(), known_hosts.read_bytes())
    refused = gpucluster(*replace)
    assert refused.rc == 2, refused.output
    assert "--accept-new-host-key" in refused.output and "nothing changed" in refused.output
    assert "SHA256:" in refused.output
    assert (hosts_file.read_bytes(), known_hosts.read_bytes()) == before

    accepted = gpucluster(*replace, "--accept-new-host-key")
    assert accepted.rc == 0, accepted.output
    assert accepted.summary["outcome"] == "succeeded"
    for name in (NEW_NODE, address):
        assert new_key in _trusted_key_lines(known_hosts, name), name
    declared = YAML(typ="safe").load(hosts_file.read_text())["all"]["children"]["gpu"]["hosts"]
    assert str(declared[NEW_NODE]["storage_mac"]).lower() == new_mac.lower()
    # The new NIC carries the storage address, and a peer reaches it there.
    link = docker_exec(NEW_NODE, "ip", "-o", "link")
    nic = next(line.split(": ")[1] for line in link.stdout.splitlines() if new_mac in line)
    addresses = docker_exec(NEW_NODE, "ip", "-o", "-4", "addr", "show", "dev", nic.split("@")[0])
    assert f"{storage_address}/24" in addresses.stdout, addresses.stdout
    assert docker_exec(STRAGGLER, "ping", "-c1", "-W2", storage_address).returncode == 0
    assert docker_exec(STRAGGLER, "getent", "hosts", f"{NEW_NODE}-storage").returncode == 0
    _clear_failed_nfs_mounts()
    healthy = gpucluster("status", "-i", str(sandbox_inventory))
    assert healthy.rc == 0, healthy.output


def _scraped(prometheus) -> dict[str, float]:
    return {r["metric"]["node"]: float(r["value"][1]) for r in prometheus.query('up{job="node"}')}


def test_remove_node_makes_the_others_forget_it(gpucluster, sandbox_inventory, prometheus):
    # add-node made Prometheus scrape the node; remove-node makes it stop.
    assert wait_for(lambda: _scraped(prometheus).get(NEW_NODE) == 1.0, 30), _scraped(prometheus)
    result = gpucluster("remove-node", NEW_NODE, "-i", str(sandbox_inventory))
    assert result.rc == 0, result.output
    assert wait_for(lambda: NEW_NODE not in _scraped(prometheus), 30), _scraped(prometheus)
    assert NEW_NODE not in result.summary["hosts"]
    for node in ORIGINAL_NODES:
        for name, _ in _new_node_names():
            assert docker_exec(node, "getent", "hosts", name).returncode != 0, (node, name)
        assert docker_exec(node, "getent", "hosts", "gpu01-storage").returncode == 0, node
