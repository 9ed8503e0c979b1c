"""End to end on a sandbox cluster: check, install, re-run, verify, people, backups.

The tests run in file order and build on each other, like an operator's day:
bring the cluster up, install it, prove a second install changes nothing, verify
it, manage people and projects, back up and restore. Growing, repairing and
shrinking the cluster follow in test_sandbox_lifecycle.py on the same sandbox.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from gpucluster.sandbox.layout import CLUSTER_DOMAIN
from tests.e2e.browser import open_page
from tests.e2e.conftest import ORIGINAL_NODES, ROOT, SANDBOX_MANAGEMENT_ADDRESS, docker_exec
from tests.infra.mlflow_helpers import PROBE as MLFLOW_PROBE
from tests.infra.monitoring_helpers import WEBHOOK_RECEIVER, received_alerts, wait_for

ADDRESSES = {"login01": "10.221.0.11", "mgmt01": "10.221.0.12", "gpu01": "10.221.0.101"}
MLFLOW_PYTHON = "/opt/mlflow/bin/python"
REGISTRY_PROBE = (
    Path(__file__).parents[1] / "infra" / "registry" / "registry_login_probe.py"
).read_text(encoding="utf-8")
SERVICE_PROBES = {(node, "ldap") for node in ORIGINAL_NODES} | {
    (node, probe) for node in ("login01", "gpu01") for probe in ("registry", "mlflow", "nfs")
}
"""(node, probe): every node binds to the directory; login and GPU nodes also reach the
registry, MLflow and the file server."""
NO_SUCH_MANIFEST = "/v2/gpucluster-test/none/manifests/sha256:" + "0" * 64


def _inventory_with(src: Path, dst: Path, group: str, host: str, field: str, value: str) -> Path:
    """A copy of the sandbox inventory with one host field changed."""
    shutil.copytree(src, dst)
    yaml = YAML()
    hosts = yaml.load(dst / "hosts.yml")
    hosts["all"]["children"][group]["hosts"][host][field] = value
    yaml.dump(hosts, dst / "hosts.yml")
    return dst


def test_check_reports_every_node_ready(gpucluster, sandbox_inventory):
    result = gpucluster("check", "-i", str(sandbox_inventory))
    assert result.rc == 0, result.output
    for node in ORIGINAL_NODES:
        assert node in result.output
    assert "Debian 12" in result.output
    assert "gpu node without an NVIDIA GPU" in result.output  # no GPU in a sandbox container


def test_check_names_host_and_field_of_a_missing_nic(gpucluster, sandbox_inventory, tmp_path):
    inventory = _inventory_with(
        sandbox_inventory, tmp_path / "inv", "gpu", "gpu01", "storage_mac", "02:00:00:00:99:99"
    )
    result = gpucluster("check", "-i", str(inventory))
    assert result.rc != 0
    assert "gpu01" in result.output
    assert "storage_mac" in result.output
    assert "02:00:00:00:99:99" in result.output


def test_check_reports_an_unreachable_node(gpucluster, sandbox_inventory, tmp_path):
    # An unused address on the sandbox's own management network.
    inventory = _inventory_with(
        sandbox_inventory, tmp_path / "inv", "backup", "backup01", "ansible_host", "10.221.0.250"
    )
    result = gpucluster("check", "-i", str(inventory))
    assert result.rc != 0
    assert "backup01" in result.output
    assert "unreachable" in result.output


def test_install_converges_every_node(gpucluster, sandbox_inventory):
    result = gpucluster("install", "-i", str(sandbox_inventory))
    assert result.rc == 0, result.output
    summary = result.summary
    assert summary["succeeded"]
    assert sorted(summary["hosts"]) == sorted(ORIGINAL_NODES)
    assert all(stats["changed"] > 0 for stats in summary["hosts"].values())


def test_second_install_changes_nothing(gpucluster, sandbox_inventory):
    result = gpucluster("install", "-i", str(sandbox_inventory))
    assert result.rc == 0, result.output
    changed = {
        (host, task["task"])
        for host, tasks in result.summary["tasks"].items()
        for task in tasks
        if task["status"] == "changed"
    }
    assert changed == set()
    assert result.summary["changed_total"] == 0


def test_status_reports_every_node_healthy_and_the_last_install(gpucluster, sandbox_inventory):
    result = gpucluster("status", "-i", str(sandbox_inventory))
    assert result.rc == 0, result.output
    for node in ORIGINAL_NODES:
        assert node in result.output
    last_install = result.output.split("last install: ", 1)[1].split("\n", 1)[0]
    assert last_install.startswith("install: succeeded,"), last_install
    assert " 0 changed task(s)" in last_install, last_install


def test_verify_passes_on_the_installed_cluster(gpucluster, sandbox_inventory):
    result = gpucluster("verify", "-i", str(sandbox_inventory))
    assert result.rc == 0, result.output


def _ssh(state_dir: Path, user: str, node: str, *command: str) -> subprocess.CompletedProcess:
    """Log in as an LDAP user with the key the sandbox generated for them."""
    sandbox = state_dir / "sandbox"
    return subprocess.run(
        [
            "ssh",
            "-i",
            str(sandbox / "users" / user),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            f"UserKnownHostsFile={sandbox / 'known_hosts'}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "ConnectTimeout=10",
            f"{user}@{ADDRESSES[node]}",
            *command,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _registry_command(method: str, path: str) -> list[str]:
    """The probe that sends the running user's own stored registry login (see its docstring)."""
    url = f"https://registry.{CLUSTER_DOMAIN}:5000{path}"
    return ["python3", "-c", REGISTRY_PROBE, url, method, "/etc/gpucluster/pki/ca.crt"]


def _registry_as(state_dir: Path, user: str, method: str, path: str = "/v2/") -> str:
    """The HTTP status the registry answers `user`, logged in on login01 by SSH."""
    result = _ssh(state_dir, user, "login01", shlex.join(_registry_command(method, path)))
    assert result.returncode == 0, (user, result.stderr)
    return result.stdout.strip()


def test_ldap_users_log_in_where_their_role_allows(sandbox_inventory, state_dir):
    for node in ("login01", "gpu01"):
        result = _ssh(state_dir, "alice", node, "id")
        assert result.returncode == 0, (node, result.stderr)
        assert "(vision)" in result.stdout and "(nlp)" not in result.stdout, result.stdout
    denied = _ssh(state_dir, "alice", "mgmt01", "id")
    assert denied.returncode != 0  # a plain user has no business on the management node
    admin = _ssh(state_dir, "carol", "mgmt01", "sudo", "-n", "id", "-u")
    assert admin.returncode == 0 and admin.stdout.strip() == "0", admin.stderr


def test_people_cannot_join_the_local_admin_group(gpucluster, sandbox_inventory, state_dir):
    """The reproduced escalation: a project named after the local sudo group (gpuadmin), and
    a user in it. Both are refused before any run, and the inventory stays as it was."""
    eve_key = state_dir / "sandbox" / "users" / "eve"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(eve_key)], check=True)
    inventory = str(sandbox_inventory)
    before = {p: p.read_bytes() for p in sandbox_inventory.rglob("*.yml")}
    project = gpucluster("project", "add", "gpuadmin", "-i", inventory)
    assert project.rc == 2, project.output
    assert "gpuadmin is already the local admin group" in project.output
    user = gpucluster(
        "user", "add", "eve", "--project", "gpuadmin", "--ssh-key", f"{eve_key}.pub",
        "-i", inventory,
    )  # fmt: skip
    assert user.rc == 2, user.output
    assert "gpuadmin is not a declared project" in user.output
    assert {p: p.read_bytes() for p in sandbox_inventory.rglob("*.yml")} == before
    assert _ssh(state_dir, "eve", "login01", "id").returncode != 0


def _mlflow_as(state_dir: Path, user: str, action: str, argument: str) -> dict:
    """MLflow's client probe run by `user` on login01, over SSH with their own key: their
    login (~/.mlflow/credentials), the server's address and its CA come from the node."""
    command = shlex.join([MLFLOW_PYTHON, "-c", MLFLOW_PROBE, action, argument])
    result = _ssh(state_dir, user, "login01", command)
    assert result.returncode == 0, (user, result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def mlflow_run(sandbox_inventory, state_dir) -> dict:
    """alice (vision) logs a run from the login node with the real MLflow client."""
    return _mlflow_as(state_dir, "alice", "log", f"vision/e2e-{int(time.time())}")


def test_project_members_log_to_mlflow_and_only_the_project_reads(mlflow_run, state_dir):
    assert mlflow_run["param"] == "0.01" and mlflow_run["metric"] == 0.25, mlflow_run
    assert mlflow_run["artifact_sha256"] == mlflow_run["expected_sha256"], mlflow_run
    assert _mlflow_as(state_dir, "bob", "read", mlflow_run["run_id"]) == {"status": 403}
    assert _mlflow_as(state_dir, "carol", "read", mlflow_run["run_id"]) == {
        "status": 200,
        "metric": 0.25,
        "artifact_sha256": mlflow_run["expected_sha256"],
    }


def test_user_and_project_commands_reach_every_node(gpucluster, sandbox_inventory, state_dir):
    dave_key = state_dir / "sandbox" / "users" / "dave"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(dave_key)], check=True)
    inventory = str(sandbox_inventory)
    project = gpucluster("project", "add", "speech", "--edit-only", "-i", inventory)
    assert project.rc == 0, project.output
    added = gpucluster(
        "user", "add", "dave", "--project", "speech", "--ssh-key", f"{dave_key}.pub",
        "-i", inventory,
    )  # fmt: skip
    assert added.rc == 0, added.output
    login = _ssh(state_dir, "dave", "gpu01", "id")
    assert login.returncode == 0, login.stderr
    assert "(speech)" in login.stdout
    listing = docker_exec("fs01", "stat", "-c", "%a %g", "/srv/nfs/projects/speech")
    assert listing.stdout.split() == ["2770", "20003"], listing.stdout
    # No declared user gets root unless declared an admin.
    for user, node in (("dave", "gpu01"), ("dave", "login01"), ("bob", "login01")):
        sudo = _ssh(state_dir, user, node, "sudo", "-n", "id", "-u")
        assert sudo.returncode != 0 and sudo.stdout.strip() != "0", (user, node, sudo.stdout)
    # The new user has a registry login of their own in their home; only admins delete.
    assert _registry_as(state_dir, "dave", "GET") == "200"
    assert _registry_as(state_dir, "dave", "DELETE", NO_SUCH_MANIFEST) == "401"
    assert _registry_as(state_dir, "carol", "DELETE", NO_SUCH_MANIFEST) == "404"
    assert _registry_as(state_dir, "alice", "GET") == "200"

    locked = gpucluster("user", "lock", "alice", "-i", inventory)
    assert locked.rc == 0, locked.output
    for node in ("login01", "gpu01"):
        assert _ssh(state_dir, "alice", node, "id").returncode != 0, node
    assert _ssh(state_dir, "bob", "login01", "id").returncode == 0  # others unaffected
    # alice's stored registry login, which worked a moment ago, is refused now.
    as_alice = docker_exec(
        "login01", "runuser", "-u", "alice", "--", *_registry_command("GET", "/v2/")
    )
    assert as_alice.stdout.strip() == "401", (as_alice.stdout, as_alice.stderr)
    assert _registry_as(state_dir, "bob", "GET") == "200"


def _alice_reads_with_her_stored_login(run_id: str) -> dict:
    """alice is locked (no shell): her stored MLflow login, sent by the client as her."""
    result = docker_exec(
        "login01", "sh", "-c",
        "set -a; . /etc/environment; exec runuser -u alice -- "
        + shlex.join([MLFLOW_PYTHON, "-c", MLFLOW_PROBE, "read", run_id]),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_locked_user_is_refused_by_mlflow(mlflow_run):
    assert _alice_reads_with_her_stored_login(mlflow_run["run_id"]) == {"status": 401}


def test_backup_run_and_restore_through_the_cli(gpucluster, sandbox_inventory):
    inventory = str(sandbox_inventory)
    original = "/srv/nfs/home/bob/results.csv"
    written = docker_exec(
        "fs01", "sh", "-c", f"seq 1 5000 > {original} && chown 10002:10000 {original}"
    )
    assert written.returncode == 0, written.stderr
    checksum = docker_exec("fs01", "sha256sum", original).stdout.split()[0]
    run = gpucluster("backup", "run", "-i", inventory)
    assert run.rc == 0, run.output
    assert "fs01: fs01-" in run.output and "mgmt01: mgmt01-" in run.output
    docker_exec("fs01", "rm", original)
    restored = gpucluster(
        "backup", "restore", "--source", f"fs01:{original}", "--to", f"fs01:{original}",
        "-i", inventory,
    )  # fmt: skip
    assert restored.rc == 0, restored.output
    assert docker_exec("fs01", "sha256sum", original).stdout.split()[0] == checksum
    owner = docker_exec("fs01", "stat", "-c", "%u:%g", original).stdout.strip()
    assert owner == "10002:10000"


def _values_by(prometheus, promql: str, label: str) -> dict[str, float]:
    return {r["metric"][label]: float(r["value"][1]) for r in prometheus.query(promql)}


def _drop_run_rows(run_id: str) -> None:
    """Delete the run from MLflow's database on mgmt01: its row and every row naming it."""
    sql = f"""
    DO $$DECLARE t text; BEGIN
      FOR t IN SELECT table_name FROM information_schema.columns
               WHERE table_schema = 'public' AND column_name = 'run_uuid' AND table_name <> 'runs'
      LOOP EXECUTE format('DELETE FROM %I WHERE run_uuid = %L', t, '{run_id}'); END LOOP;
      DELETE FROM runs WHERE run_uuid = '{run_id}';
    END$$;"""
    dropped = docker_exec(
        "mgmt01", "runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1",
        "--dbname", "mlflow", "--command", sql,
    )  # fmt: skip
    assert dropped.returncode == 0, dropped.stderr


def test_mlflow_restore_brings_a_dropped_run_back(
    gpucluster, sandbox_inventory, state_dir, mlflow_run
):
    """`backup run` (the test before) dumped MLflow's databases; the run's rows go, the
    restore brings the run back with its metric and artifact, and alice stays locked."""
    run_id = mlflow_run["run_id"]
    _drop_run_rows(run_id)
    assert _mlflow_as(state_dir, "carol", "read", run_id)["status"] == 404
    restored = gpucluster("backup", "restore-mlflow", "-i", str(sandbox_inventory))
    assert restored.rc == 0, restored.output
    assert _mlflow_as(state_dir, "carol", "read", run_id) == {
        "status": 200,
        "metric": 0.25,
        "artifact_sha256": mlflow_run["expected_sha256"],
    }
    # The dump holds alice's account from before her lock; the restore does not revive it.
    assert _alice_reads_with_her_stored_login(run_id) == {"status": 401}


def test_prometheus_scrapes_every_node_and_sees_the_backups(prometheus):
    expected = {node: 1.0 for node in ORIGINAL_NODES}

    def nodes_up() -> dict[str, float]:
        return _values_by(prometheus, 'up{job="node"}', "node")

    assert wait_for(lambda: nodes_up() == expected, timeout=30), nodes_up()
    # The backup run above recorded each source's success; Prometheus has it within a scrape.
    last_success = "gpucluster_backup_last_success_timestamp_seconds"
    backups = wait_for(lambda: _values_by(prometheus, last_success, "source"), timeout=30)
    assert set(backups) == {"fs01", "mgmt01"}, backups
    assert all(time.time() - 900 < when <= time.time() for when in backups.values()), backups
    # Every node reports its certificates; none is near expiry on a fresh cluster.
    days = _values_by(prometheus, "node:gpucluster_certificate_days_left:min", "node")
    assert set(days) == set(ORIGINAL_NODES) and min(days.values()) > 700, days
    probes = {
        (r["metric"]["node"], r["metric"]["probe"]): float(r["value"][1])
        for r in prometheus.query("gpucluster_probe_success")
    }
    assert set(probes) == SERVICE_PROBES and set(probes.values()) == {1.0}, probes
    # The file server measures every project directory.
    projects = _values_by(prometheus, 'gpucluster_directory_bytes{root="projects"}', "name")
    assert {"vision", "nlp"} <= set(projects), projects
    assert prometheus.query('ALERTS{alertstate="firing"}') == []


def test_top_shows_every_node_up(gpucluster, sandbox_inventory):
    result = gpucluster("top", "--once", "-i", str(sandbox_inventory))
    assert result.rc == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    for node in ORIGINAL_NODES:
        assert node in rows and rows[node].split("│")[2].strip() == "up", result.output
    assert "(none)" in result.output, "an alert fires on the fresh cluster"


class _OverviewRows(HTMLParser):
    """The overview page's rows: {(table id, row key): {cell class: text}}, where the key
    is the row's data-node, data-probe, data-source and data-name (a project or user)
    attributes that it has, joined with "/" (for example "gpu01/ldap")."""

    KEYS = ("data-node", "data-probe", "data-source", "data-name")

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], dict[str, str]] = {}
        self.table = ""
        self.row: dict[str, str] | None = None
        self.cell = ""
        self.cells = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table":
            self.table = attributes.get("id") or ""
        elif tag == "tr":
            key = "/".join(attributes[k] or "" for k in self.KEYS if k in attributes)
            self.row = self.rows.setdefault((self.table, key), {}) if key else None
            self.cells = 0
        elif tag == "td" and self.row is not None:
            self.cells += 1
            self.cell = (attributes.get("class") or "").split(" ")[0] or f"column{self.cells}"
            self.row[self.cell] = ""

    def handle_data(self, data: str) -> None:
        if self.row is not None and self.cell:
            self.row[self.cell] += data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.cell = ""


def test_the_overview_page_shows_every_node_live_in_a_browser(prometheus, tmp_path):
    """Prometheus serves the overview page; a real browser that trusts the cluster CA logs
    in as an operator and sees every node up with live numbers. The screenshot is kept."""
    screenshot = ROOT / "test-artifacts" / "overview.png"
    page = open_page(
        f"{prometheus.url}/consoles/gpucluster.html",
        prometheus.username,
        prometheus.password,
        prometheus.ca_pem,
        tmp_path,
        screenshot,
    )
    print(f"screenshot of the overview page: {screenshot}")
    rendered_at = re.search(r'data-unix-time="(\d+)"', page.dom)
    assert rendered_at, f"not the overview page:\n{page.dom[:2000]}"
    assert abs(time.time() - int(rendered_at.group(1))) < 120, "the page is not live"
    parser = _OverviewRows()
    parser.feed(page.dom)
    rows = parser.rows
    nodes = {key: cells for (table, key), cells in rows.items() if table == "nodes"}
    assert set(nodes) == set(ORIGINAL_NODES), nodes
    for node, cells in nodes.items():
        assert cells["state"] == "up", (node, cells)
        for column in ("cpu", "memory"):
            assert re.fullmatch(r"\d+%", cells[column]), (node, column, cells)
        assert re.fullmatch(r"\d+\.\d\d", cells["load"]), (node, cells)
    backups = {key for (table, key) in rows if table == "backups"}
    assert backups == {"fs01", "mgmt01"}, rows
    certificates = {key: cells for (table, key), cells in rows.items() if table == "certificates"}
    assert set(certificates) == set(ORIGINAL_NODES), certificates
    assert all(int(cells["days"]) > 700 for cells in certificates.values()), certificates
    probes = {key: cells for (table, key), cells in rows.items() if table == "probes"}
    assert set(probes) == {f"{node}/{probe}" for node, probe in SERVICE_PROBES}, probes
    assert all(cells.get("ok") == "answers" for cells in probes.values()), probes
    assert "0 alerts firing" in page.dom
    assert screenshot.stat().st_size > 10_000


def test_a_hung_node_raises_node_down_at_the_webhook(prometheus):
    """gpu01's container is frozen (docker pause): its exporter stops answering, as a hung
    node's would. The sandbox's settings: scrape and evaluation every 10 s, NodeDown after
    20 s, group wait 1 s; the scrape times out after 10 s."""
    received = "/var/tmp/gpucluster-e2e-webhook.jsonl"
    started = docker_exec(
        "mgmt01", "systemd-run", "--unit=gpucluster-e2e-webhook", "--collect",
        "python3", "-c", WEBHOOK_RECEIVER, SANDBOX_MANAGEMENT_ADDRESS, received, "9199",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    limit = 10 + 10 + 2 * 10 + 20 + 1 + 10  # scrape, timeout, evaluations, for, wait, hops

    def node_down(status: str) -> list[dict]:
        sent = docker_exec("mgmt01", "cat", received).stdout
        return [
            alert
            for alert in received_alerts(sent)
            if alert["labels"].get("alertname") == "NodeDown"
            and alert["labels"].get("node") == "gpu01"
            and alert["status"] == status
        ]

    try:
        paused = time.monotonic()
        subprocess.run(["docker", "pause", "gpucluster-gpu01"], check=True, timeout=60)
        firing = wait_for(lambda: node_down("firing"), timeout=limit)
        took = time.monotonic() - paused
        assert firing, f"no NodeDown for gpu01 within {limit}s"
        print(f"NodeDown for gpu01 reached the webhook {took:.0f}s after the node hung")
        subprocess.run(["docker", "unpause", "gpucluster-gpu01"], check=True, timeout=60)
        # Resolved too: scrape, evaluation, group interval (10 s each), hops.
        assert wait_for(lambda: node_down("resolved"), timeout=60), "NodeDown never resolved"
    finally:
        subprocess.run(["docker", "unpause", "gpucluster-gpu01"], check=False, timeout=60)
        docker_exec("mgmt01", "systemctl", "stop", "gpucluster-e2e-webhook")
    resumed = {"gpu01": 1.0}
    back = wait_for(lambda: _values_by(prometheus, 'up{node="gpu01"}', "node") == resumed, 60)
    assert back, "gpu01 is not scraped again after it resumed"


NOT_SECRET = {"monitoring/client.json"}
"""Beside the secrets, 0600 like them, but holding none: Prometheus' address, the operators'
account name and the cluster CA's certificate (the password is its own file)."""


def test_secrets_never_reach_run_artifacts(sandbox_inventory, state_dir):
    root = sandbox_inventory / ".secrets"
    files = sorted(path for path in root.rglob("*") if path.is_file())
    assert {str(p.relative_to(root)) for p in files} >= NOT_SECRET
    secrets = [path for path in files if str(path.relative_to(root)) not in NOT_SECRET]
    assert secrets, "the install generated no secrets"
    values = [path.read_text().split()[0] for path in secrets]
    for path in files:
        assert path.stat().st_mode & 0o077 == 0, path
    for artifact in (state_dir / "runs").rglob("*"):
        if artifact.is_file():
            text = artifact.read_text(errors="replace")
            for path, value in zip(secrets, values, strict=True):
                assert value not in text, f"{path.name} leaked into {artifact}"


def test_add_node_rejects_a_duplicate_address_and_leaves_inventory_alone(
    gpucluster, sandbox_inventory
):
    hosts_file = sandbox_inventory / "hosts.yml"
    before = hosts_file.read_bytes()
    result = gpucluster(
        "add-node",
        "gpu02",
        "--group",
        "gpu",
        "--address",
        "10.221.0.101",
        "--storage-address",
        "10.222.0.102",
        "-i",
        str(sandbox_inventory),
    )
    assert result.rc == 2
    assert "gpu02" in result.output and "ansible_host" in result.output
    assert hosts_file.read_bytes() == before
