"""Partial runs: the job is done where it had to be, other nodes lag, and it shows (exit 3,
the message, `status`) until a later run catches them up."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from gpucluster import lagging
from gpucluster.cli import main
from gpucluster.commands import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, common
from gpucluster.commands.status import _print_lagging
from gpucluster.inventory import load_cluster
from gpucluster.run_result import HostStats, RunResult, TaskOutcome
from gpucluster.runner import RunRequest, run_playbook

OK = HostStats(ok=3, changed=1)
DOWN = HostStats(ok=0, unreachable=1)
BROKEN = HostStats(ok=1, failed=1)


def _result(rc: int = 4, status: str = "failed", **hosts: HostStats) -> RunResult:
    return RunResult(run_dir=Path("/r"), status=status, rc=rc, elapsed_s=1.0, hosts=hosts)


@pytest.mark.parametrize(
    ("hosts", "rc", "must", "expected"),
    [
        ({"gpu03": OK, "gpu01": DOWN, "localhost": OK}, 4, {"gpu03"}, "partial"),
        ({"gpu03": OK, "gpu01": BROKEN}, 2, {"gpu03"}, "partial"),  # an existing node failed
        ({"gpu03": BROKEN, "gpu01": OK}, 2, {"gpu03"}, "failed"),  # the new node failed
        ({"gpu03": OK, "localhost": BROKEN}, 2, {"gpu03"}, "failed"),  # the controller's play
        ({"gpu01": DOWN}, 4, {"gpu03"}, "failed"),  # the new node never ran
        ({"gpu01": OK, "gpu02": DOWN}, 4, None, "partial"),  # install: unreachable only
        ({"gpu01": OK, "gpu02": BROKEN}, 2, None, "failed"),  # install: a task failed
        ({"gpu01": DOWN, "gpu02": DOWN}, 4, None, "failed"),  # nobody converged
        ({"gpu01": OK, "gpu02": DOWN}, 1, None, "failed"),  # the run itself broke
        ({"gpu01": OK}, 0, None, "succeeded"),
    ],
)
def test_judge(hosts, rc, must, expected):
    status = "successful" if rc == 0 else "failed"
    result = _result(rc, status, **hosts)
    assert result.judge(frozenset(must) if must else None) == expected


def test_a_last_play_failed_on_all_its_hosts_is_no_partial():
    result = _result(gpu01=OK, mgmt01=DOWN)
    result.outcomes = [
        TaskOutcome("gpu01", "All", "Ping", "", "ok"),
        TaskOutcome("mgmt01", "All", "Ping", "", "ok"),
        TaskOutcome("mgmt01", "Control plane", "Init", "", "unreachable"),
    ]
    assert result.judge() == "failed"
    result.outcomes.append(TaskOutcome("gpu01", "Workers", "Join", "", "ok"))
    assert result.judge() == "partial"  # a later play ran: nothing was broken off


def test_a_cancelled_run_is_interrupted():
    assert _result(254, "canceled", gpu01=OK).judge() == "interrupted"


def test_lagging_names_the_play_and_task_where_each_host_stopped():
    result = _result(gpu01=DOWN, gpu02=OK)
    result.outcomes = [
        TaskOutcome("gpu02", "Existing nodes learn", "Add hosts", "common", "changed"),
        TaskOutcome("gpu01", "Existing nodes learn", "Add hosts", "common", "unreachable", "ssh"),
    ]
    (entry,) = result.lagging()
    assert entry.host == "gpu01" and entry.status == "unreachable"
    text = entry.describe()
    assert "'Existing nodes learn'" in text and "'common : Add hosts'" in text
    assert "missed the rest of that play" in text


def _record(inventory: Path, result: RunResult, playbook: str) -> lagging.Store:
    return lagging.record(
        inventory,
        result,
        playbook=playbook,
        command="add-node",
        started="2026-11-02T10:00:00+00:00",
        catch_up="gpucluster install --limit {hosts}",
    )


def test_lagging_nodes_are_kept_until_a_run_covering_them_succeeds(inventory):
    _record(inventory, _result(gpu01=DOWN, gpu03=OK), "add-node.yml")
    _record(inventory, _result(gpu01=DOWN, gpu02=OK), "people.yml")
    assert {(e.host, e.playbook) for e in lagging.entries(inventory)} == {
        ("gpu01", "add-node.yml"),
        ("gpu01", "people.yml"),
    }
    assert lagging.entries(inventory)[0].catch_up == "gpucluster install --limit gpu01"
    # A run of another playbook that reaches gpu01 clears only its own entry...
    _record(inventory, _result(0, "successful", gpu01=OK), "people.yml")
    assert [e.playbook for e in lagging.entries(inventory)] == ["add-node.yml"]
    # ... a probe clears nothing, and a full install (site.yml) clears everything.
    _record(inventory, _result(0, "successful", gpu01=OK), "status.yml")
    assert lagging.entries(inventory)
    _record(inventory, _result(0, "successful", gpu01=OK), "site.yml")
    assert lagging.entries(inventory) == []


def test_status_lists_lagging_nodes_still_in_the_inventory(inventory):
    _record(inventory, _result(gpu01=DOWN, gone=DOWN, gpu03=OK), "add-node.yml")
    console = Console(record=True, width=200)
    assert _print_lagging(console, inventory, load_cluster(inventory))
    text = console.export_text()
    assert "gpu01" in text and "gpucluster install --limit gpu01" in text
    assert "gone" not in text


def test_add_node_exits_3_when_only_an_existing_node_lags(inventory, monkeypatch, capsys):
    seen: list[RunRequest] = []

    def fake_run(console, title, request):
        seen.append(request)
        result = _result(gpu03=OK, gpu01=DOWN, localhost=OK)
        result.outcomes = [
            TaskOutcome("gpu01", "Existing nodes learn", "Add", "", "unreachable"),
            TaskOutcome("gpu03", "Provision the new nodes", "Install", "common", "changed"),
        ]
        result.judge(request.must_succeed_on)
        common.render_summary(console, title, result, request.catch_up_command())
        return result

    monkeypatch.setattr(common, "run_with_progress", fake_run)
    argv = [
        "add-node", "gpu03", "--group", "gpu", "--address", "10.10.0.103",
        "--storage-address", "10.20.0.103", "-i", str(inventory),
    ]  # fmt: skip
    assert main(argv) == EXIT_PARTIAL
    assert seen[0].must_succeed_on == frozenset({"gpu03"})
    out = capsys.readouterr().out
    assert "PARTIAL" in out and "gpu01: unreachable in play 'Existing nodes learn'" in out
    assert f"catch up: gpucluster install --limit gpu01 -i {inventory}" in out


@pytest.mark.parametrize(("outcome", "code"), [("succeeded", 0), ("partial", 3), ("failed", 1)])
def test_exit_codes_follow_the_outcome(outcome, code):
    result = _result()
    result.outcome = outcome
    assert common.exit_code(result) == code
    assert EXIT_OK == 0 and EXIT_FAILED == 1 and EXIT_PARTIAL == 3


PLAYBOOK = """---
- name: Everyone
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def _real_inventory(tmp_path: Path) -> Path:
    """This machine over the local connection, and a host that cannot be reached."""
    inventory = tmp_path / "real" / "hosts.yml"
    inventory.parent.mkdir()
    # A name that cannot resolve: nothing on the network is contacted.
    inventory.write_text(
        "all:\n  hosts:\n"
        f"    localnode:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {os.sys.executable}\n"
        "    ghost:\n      ansible_host: ghost.invalid\n"
        "      ansible_ssh_common_args: -o ConnectTimeout=2\n"
    )
    return inventory


def test_a_real_run_with_an_unreachable_host_is_partial_and_recorded(tmp_path):
    inventory = _real_inventory(tmp_path)
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    request = RunRequest(
        playbook=str(playbook),
        inventory=inventory,
        command_name="install",
        must_succeed_on=frozenset({"localnode"}),
    )
    result = run_playbook(request)
    assert result.outcome == "partial"
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["outcome"] == "partial" and summary["ended"]
    assert summary["lagging"]["ghost"]["status"] == "unreachable"
    assert summary["lagging"]["ghost"]["play"] == "Everyone"
    # Not a converging playbook (play.yml): nothing is recorded as lagging.
    assert lagging.entries(inventory) == []


BREAKING_PLAYBOOK = """---
- name: This machine first
  hosts: localnode
  gather_facts: false
  tasks:
    - name: Ping this machine
      ansible.builtin.ping:
- name: The ghost alone
  hosts: ghost
  gather_facts: false
  tasks:
    - name: Ping the ghost
      ansible.builtin.ping:
- name: Everyone
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def test_a_play_whose_every_host_failed_stops_the_playbook_and_is_no_partial(tmp_path):
    """Ansible skips every later play when all hosts of one failed: localnode looks healthy
    but never ran "Everyone", so the run failed, it is not partial."""
    inventory = _real_inventory(tmp_path)
    playbook = tmp_path / "play.yml"
    playbook.write_text(BREAKING_PLAYBOOK)
    result = run_playbook(RunRequest(playbook=str(playbook), inventory=inventory, command_name="t"))
    assert result.hosts["localnode"].healthy and result.outcome == "failed"
    assert not any(o.play == "Everyone" for o in result.outcomes)
