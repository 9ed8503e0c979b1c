"""Role prometheus, on the management node: Prometheus and Alertmanager answer on the
management address only, over TLS from the cluster CA and only to their accounts;
every node of the inventory is a target and up; the alert and recording rules pass
promtool's unit tests built from the inventory's thresholds; the overview page shows every
node; and a node whose exporter stops raises NodeDown at a
webhook within the rule's `for` plus the scrape and evaluation intervals."""

from __future__ import annotations

import re
import time

import pytest
import yaml

from tests.infra.monitoring_helpers import WEBHOOK_RECEIVER, received_alerts, wait_for

testinfra_hosts = ["ansible://management"]

CONFIG_DIR = "/etc/prometheus"
BACKUP_LABELS = {"source": "fs01", "node": "backup01"}
BACKUP_SERIES = 'gpucluster_backup_last_success_timestamp_seconds{source="fs01", node="backup01"}'
XID_LABELS = {"job": "dcgm", "node": "g1", "gpu": "0", "UUID": "GPU-0"}
XID_SERIES = 'DCGM_FI_DEV_XID_ERRORS{job="dcgm", node="g1", gpu="0", UUID="GPU-0"}'
CERTIFICATE_SERIES = (
    'gpucluster_certificate_expiry_timestamp_seconds{path="/x.crt", subject="CN=x", node="n1"}'
)


def _seconds(duration: str) -> int:
    """A Prometheus duration (15s, 2m, 1h) in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|s|m|h|d|w)", duration):
        total += int(number) * units[unit]
    return int(total)


def _humanized(seconds: int) -> str:
    """Prometheus' humanizeDuration of a whole number of seconds (one day or more)."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    assert days, "only whole days and more are spelled out here"
    return f"{days}d {hours}h {minutes}m {seconds}s"


def test_servers_listen_on_the_management_address_only(host, metrics, inventory):
    for unit in ("prometheus", "prometheus-alertmanager"):
        service = host.service(unit)
        assert service.is_enabled and service.is_running, unit
    tcp = {str(s) for s in host.socket.get_listening_sockets() if str(s).startswith("tcp")}
    alertmanager = int(inventory.setting("prometheus_alertmanager_port"))
    for port in (metrics.prometheus_port, alertmanager):
        assert {s for s in tcp if s.endswith(f":{port}")} == {
            f"tcp://{metrics.server_address}:{port}"
        }, tcp
    assert not [s for s in tcp if s.endswith(":9094")], "Alertmanager's gossip port is open"


def test_the_api_needs_tls_and_an_account(metrics):
    url = metrics.prometheus_url("/api/v1/status/buildinfo")
    assert metrics.get(url)[0] == 401
    assert metrics.get(url, metrics.operator_username, password="wrong")[0] == 401
    status, body = metrics.get(url, metrics.operator_username)
    assert status == 200, body[:300]


def test_every_node_is_a_target_and_up(metrics, inventory):
    expected = {("node", name): 1.0 for name in inventory.hosts()}
    expected |= {("prometheus", metrics.server): 1.0, ("alertmanager", metrics.server): 1.0}
    interval = _seconds(inventory.setting("prometheus_scrape_interval"))

    def up() -> dict[tuple[str, str], float]:
        return {
            (r["metric"]["job"], r["metric"]["node"]): float(r["value"][1])
            for r in metrics.query('up{job=~"node|prometheus|alertmanager"}')
        }

    assert wait_for(lambda: up() == expected, timeout=3 * interval + 10), up()


def test_gpu_nodes_with_the_dcgm_exporter_on_are_its_targets(metrics, inventory):
    """Whether each exporter answers is tests/infra/dcgm_exporter's (it runs only with a
    GPU); here, that Prometheus scrapes exactly the GPU nodes the inventory switched on."""
    expected = {
        name
        for name in inventory.hosts_of("gpu")
        if inventory.setting("cluster_dcgm_exporter_enabled", of=name)
    }
    interval = _seconds(inventory.setting("prometheus_scrape_interval"))

    def targets() -> set[str]:
        return {r["metric"]["node"] for r in metrics.query('up{job="dcgm"}')}

    assert wait_for(lambda: targets() == expected, timeout=3 * interval + 10), targets()


def test_the_overview_page_shows_every_node_to_operators_only(metrics, inventory):
    url = metrics.prometheus_url("/consoles/gpucluster.html")
    assert metrics.get(url)[0] == 401
    interval = _seconds(inventory.setting("prometheus_scrape_interval"))

    def page() -> str:
        status, body = metrics.get(url, metrics.operator_username)
        assert status == 200, body[:300]
        return body

    # CPU is a rate over 2 minutes of samples: it shows after the second scrape.
    row = (
        r'<tr class="node" data-node="{0}">\s*<td>{0}</td>\s*'
        r'<td class="state up">up</td>\s*<td class="cpu">.*?\d+%</td>'
    )
    rows = [row.format(re.escape(name)) for name in inventory.hosts()]
    shown = wait_for(lambda: all(re.search(r, page()) for r in rows), timeout=3 * interval + 10)
    assert shown, page()


def test_secrets_on_the_node(host, metrics):
    password = host.file(f"{CONFIG_DIR}/secrets/scrape.password")
    assert (password.user, password.group, password.mode) == ("root", "prometheus", 0o640)
    web = host.file(f"{CONFIG_DIR}/web.yml").content_string
    for account in (metrics.operator_username, metrics.scrape_username):
        assert metrics.password(account) not in web
    for name in ("prometheus.yml", "alertmanager.yml", "gpucluster.rules.yml"):
        text = host.file(f"{CONFIG_DIR}/{name}").content_string
        assert metrics.password(metrics.scrape_username) not in text, name


def _rule_tests(inventory) -> dict:
    """promtool unit tests of the rules, with the thresholds the inventory set."""
    down_for = _seconds(inventory.setting("prometheus_node_down_for"))
    evaluation = _seconds(inventory.setting("prometheus_evaluation_interval"))
    max_age = int(inventory.setting("prometheus_backup_max_age_hours")) * 3600
    min_days = int(inventory.setting("prometheus_certificate_min_days"))
    step = evaluation
    # Enough samples to pass the rule's `for` by a few evaluations.
    samples = down_for // step + 4
    age = _humanized(max_age + 3600)
    down_labels = 'up{job="node", node="gpu09", instance="10.0.0.9:9100"}'
    return {
        "rule_files": [f"{CONFIG_DIR}/gpucluster.rules.yml"],
        "evaluation_interval": f"{evaluation}s",
        "tests": [
            {
                "interval": f"{step}s",
                "input_series": [{"series": down_labels, "values": f"1 0x{samples}"}],
                "alert_rule_test": [
                    # Down, but not yet for long enough: nothing fires.
                    {"eval_time": f"{step + max(down_for - step, 0)}s", "alertname": "NodeDown"},
                    {
                        "eval_time": f"{step * (samples - 1)}s",
                        "alertname": "NodeDown",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "critical",
                                    "job": "node",
                                    "node": "gpu09",
                                    "instance": "10.0.0.9:9100",
                                },
                                "exp_annotations": {
                                    "summary": "gpu09 does not answer Prometheus",
                                    "description": "node_exporter on gpu09 (10.0.0.9:9100) has "
                                    "not answered a scrape: the node is down, off the management "
                                    "network, or its exporter stopped.",
                                },
                            }
                        ],
                    },
                ],
            },
            {
                # A backup that succeeded at time 0 is too old after max_age.
                "interval": "1h",
                "input_series": [
                    {
                        "series": BACKUP_SERIES,
                        "values": f"0x{max_age // 3600 + 2}",
                    }
                ],
                "alert_rule_test": [
                    {"eval_time": f"{max_age - 3600}s", "alertname": "BackupTooOld"},
                    {
                        "eval_time": f"{max_age + 3600}s",
                        "alertname": "BackupTooOld",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "critical", **BACKUP_LABELS},
                                "exp_annotations": {
                                    "summary": f"No backup of fs01 for {age}",
                                    "description": f"The last successful backup of fs01 on "
                                    f"backup01 is {age} old: see journalctl -u gpucluster-backup "
                                    "there.",
                                },
                            }
                        ],
                    },
                ],
            },
            {
                # A certificate expiring at day min_days + 2: quiet at day 1, firing at day 3.
                "interval": "1d",
                "input_series": [
                    {
                        "series": CERTIFICATE_SERIES,
                        "values": f"{(min_days + 2) * 86400}x4",
                    }
                ],
                "alert_rule_test": [
                    {"eval_time": "1d", "alertname": "CertificateExpiresSoon"},
                    {
                        "eval_time": "3d",
                        "alertname": "CertificateExpiresSoon",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "path": "/x.crt",
                                    "subject": "CN=x",
                                    "node": "n1",
                                },
                                "exp_annotations": {
                                    "summary": f"/x.crt on n1 expires in {min_days - 1} days",
                                    "description": "The certificate CN=x at /x.crt on n1 was not "
                                    "renewed: run gpucluster install (renewal happens within 30 "
                                    "days of expiry).",
                                },
                            }
                        ],
                    },
                ],
            },
            {
                # The driver reports XID 79 (GPU fell off the bus) for one GPU.
                "interval": "1m",
                "input_series": [{"series": XID_SERIES, "values": "0 0 79 79"}],
                "alert_rule_test": [
                    {"eval_time": "1m", "alertname": "GpuXidError"},
                    {
                        "eval_time": "2m",
                        "alertname": "GpuXidError",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "critical", **XID_LABELS},
                                "exp_annotations": {
                                    "summary": "GPU 0 on g1 reported XID 79",
                                    "description": "The driver reported XID error 79 for GPU 0 "
                                    "(GPU-0) on g1: look it up in NVIDIA's XID list; many need "
                                    "the node drained and the GPU reset or replaced.",
                                },
                            }
                        ],
                    },
                ],
            },
            {
                # The overview's recorded numbers (top, the console page, Grafana): alice
                # holds GPU 0 and half of GPU 1 for vision, bob the other half for nlp.
                "interval": "1m",
                "input_series": [
                    {"series": _share("0", "alice", "vision"), "values": "1x120"},
                    {"series": _share("1", "alice", "vision"), "values": "0.5x120"},
                    {"series": _share("1", "bob", "nlp"), "values": "0.5x120"},
                    {"series": _cpu_seconds("idle"), "values": "0+30x10"},
                    {"series": _cpu_seconds("user"), "values": "0+30x10"},
                ],
                "promql_expr_test": [
                    # An hour of minutes (0..59): 1.5 GPUs for an hour is 1.5 GPU-hours.
                    _expect(
                        "project:gpucluster_gpu_hours:sum30d", "59m", "project", vision=1.5, nlp=0.5
                    ),
                    _expect("user:gpucluster_gpu_hours:sum30d", "59m", "user", alice=1.5, bob=0.5),
                    _expect(
                        "project:gpucluster_gpus_held:sum", "10m", "project", vision=1.5, nlp=0.5
                    ),
                    # Busy half of each second on its one CPU.
                    _expect("node:gpucluster_cpu_busy:ratio", "5m", "node", n1=0.5),
                ],
            },
        ],
    }


def _share(gpu: str, user: str, project: str) -> str:
    labels = f'node="g1", gpu="{gpu}", uuid="GPU-{gpu}", user="{user}", project="{project}"'
    return f"gpucluster_gpu_share_ratio{{{labels}}}"


def _cpu_seconds(mode: str) -> str:
    return f'node_cpu_seconds_total{{job="node", node="n1", cpu="0", mode="{mode}"}}'


def _expect(record: str, eval_time: str, label: str, **values: float) -> dict:
    """A promql_expr_test: the recorded series `record` has these values by `label`."""
    return {
        "expr": record,
        "eval_time": eval_time,
        "exp_samples": [
            {"labels": f'{record}{{{label}="{key}"}}', "value": value}
            for key, value in values.items()
        ],
    }


def test_alert_rules_pass_promtool(host, inventory):
    check = host.run("promtool check rules %s/gpucluster.rules.yml", CONFIG_DIR)
    assert check.rc == 0, check.stdout + check.stderr
    tests = host.check_output("mktemp /tmp/gpucluster-rules-test.XXXXXX.yml")
    try:
        host.run("printf %%s %s > %s", yaml.safe_dump(_rule_tests(inventory)), tests)
        result = host.run("promtool test rules %s", tests)
        assert result.rc == 0, result.stdout + result.stderr
    finally:
        host.run("rm -f %s", tests)


@pytest.mark.raises_alerts
def test_a_stopped_exporter_raises_node_down_at_the_webhook(host, inventory, metrics):
    urls = inventory.setting("prometheus_alert_webhook_urls")
    match = next(
        (re.match(rf"^http://{re.escape(metrics.server_address)}:(\d+)/", u) for u in urls), None
    )
    if not match:
        pytest.skip(
            "not executed here: the alert path needs a webhook receiver on the management "
            f"node in prometheus_alert_webhook_urls (have {urls})"
        )
    others = [name for name in inventory.hosts() if name != metrics.server]
    assert others, "the inventory needs a second node to stop"
    victim = inventory.host(others[0])
    received = "/var/tmp/gpucluster-webhook.jsonl"
    unit = "gpucluster-test-webhook"
    host.run("rm -f %s; systemctl stop %s", received, unit)
    start = host.run(
        "systemd-run --unit=%s --collect python3 -c %s %s %s %s",
        unit,
        WEBHOOK_RECEIVER,
        metrics.server_address,
        received,
        match.group(1),
    )
    assert start.rc == 0, start.stderr
    down_for = _seconds(inventory.setting("prometheus_node_down_for"))
    scrape = _seconds(inventory.setting("prometheus_scrape_interval"))
    evaluation = _seconds(inventory.setting("prometheus_evaluation_interval"))
    wait = _seconds(inventory.setting("prometheus_alert_group_wait"))
    # Down is seen at the next scrape, pending at the next evaluation, firing `for` later,
    # sent after the group wait; 10 s for the hops between them.
    limit = scrape + 2 * evaluation + down_for + wait + 10
    group_interval = _seconds(inventory.setting("prometheus_alert_group_interval"))

    def node_down(status: str) -> list[dict]:
        sent = host.run("cat %s", received).stdout
        return [
            a
            for a in received_alerts(sent)
            if a["labels"].get("alertname") == "NodeDown"
            and a["labels"].get("node") == others[0]
            and a["status"] == status
        ]

    try:
        stopped = time.monotonic()
        victim.run("systemctl stop prometheus-node-exporter")
        firing = wait_for(lambda: node_down("firing"), timeout=limit)
        took = time.monotonic() - stopped
        sent = host.run("cat %s", received).stdout
        assert firing, f"no NodeDown for {others[0]} within {limit}s: {sent}"
        print(f"NodeDown for {others[0]} reached the webhook {took:.0f}s after the stop")
        victim.run("systemctl start prometheus-node-exporter")
        # The resolution reaches the receiver too. Waiting for it also keeps Alertmanager's
        # notification log right: a firing alert it could not resolve is not sent again
        # (until the repeat interval) when the same node goes down in a later run.
        resolved = wait_for(
            lambda: node_down("resolved"), timeout=scrape + 2 * evaluation + group_interval + 15
        )
        assert resolved, f"no resolved NodeDown for {others[0]}: {host.run('cat %s', received)}"
    finally:
        victim.run("systemctl start prometheus-node-exporter")
        host.run("systemctl stop %s", unit)
