"""`gpucluster top`: the cluster at a glance in the terminal, from Prometheus.

Per node: up, CPU, memory, load, GPUs and their utilisation; per project and per user:
the GPUs held now and the GPU-hours over 30 days; and the alerts firing. Every number is
one PromQL query against the cluster's Prometheus (`gpucluster.metrics_api`), so `top`
shows exactly what alerts and dashboards see. `--once` prints one frame for scripts;
otherwise it refreshes until Ctrl-C.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from gpucluster.commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from gpucluster.commands.common import inventory_path, load_or_report
from gpucluster.metrics_api import MetricsUnavailable, PrometheusApi

# Recorded by Prometheus (roles/prometheus/templates/gpucluster.rules.yml.j2, group
# gpucluster-overview): top, the console page and Grafana read the same definitions.
NODE_QUERIES = {
    "up": 'up{job="node"}',
    "cpu": "node:gpucluster_cpu_busy:ratio",
    "memory": "node:gpucluster_memory_used:ratio",
    "load": 'node_load1{job="node"}',
    "gpus": "node:gpucluster_gpus:count",
    "gpu_utilization": "node:gpucluster_gpu_utilization:avg",
}
"""One value per node (label `node`)."""
PROJECT_QUERIES = {
    "gpus_now": "project:gpucluster_gpus_held:sum",
    "gpu_hours_30d": "project:gpucluster_gpu_hours:sum30d",
}
"""One value per project (label `project`)."""
USER_QUERIES = {
    "gpus_now": "user:gpucluster_gpus_held:sum",
    "gpu_hours_30d": "user:gpucluster_gpu_hours:sum30d",
}
"""One value per user (label `user`)."""
ALERTS_QUERY = 'ALERTS{alertstate="firing"}'


@dataclass
class Frame:
    """What one refresh shows."""

    nodes: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    projects: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    users: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    alerts: list[dict[str, str]] = field(default_factory=list)


def collect(api: PrometheusApi, node_names: list[str]) -> Frame:
    """Ask Prometheus every query of one frame; every inventory node gets a row."""
    frame = Frame()
    for name in node_names:
        frame.nodes.setdefault(name, {})
    for column, promql in NODE_QUERIES.items():
        for sample in api.query(promql):
            node = sample["metric"].get("node")
            if node is not None:
                frame.nodes[node][column] = float(sample["value"][1])
    for rows, label, queries in (
        (frame.projects, "project", PROJECT_QUERIES),
        (frame.users, "user", USER_QUERIES),
    ):
        for column, promql in queries.items():
            for sample in api.query(promql):
                rows[sample["metric"].get(label, "")][column] = float(sample["value"][1])
    frame.alerts = [sample["metric"] for sample in api.query(ALERTS_QUERY)]
    return frame


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _usage_table(kind: str, title: str, rows: dict[str, dict[str, float]]) -> Table:
    """GPUs held now and GPU-hours over 30 days, one row per project or user."""
    table = Table(title=title, title_justify="left")
    for column in (kind, "GPUs now", "GPU-hours, 30 days"):
        table.add_column(column, justify="left" if column == kind else "right")
    for name, values in sorted(rows.items()):
        table.add_row(
            escape(name),
            _number(values.get("gpus_now"), 2),
            _number(values.get("gpu_hours_30d"), 1),
        )
    if not rows:
        table.add_row("(no GPU process seen)", "", "")
    return table


def render(frame: Frame, source: str) -> Group:
    """The frame as four tables: nodes, projects, users, firing alerts."""
    nodes = Table(title=f"nodes ({escape(source)})", title_justify="left")
    for column in ("node", "up", "cpu", "memory", "load", "gpus", "gpu util"):
        nodes.add_column(column, justify="left" if column == "node" else "right")
    for name, values in sorted(frame.nodes.items()):
        up = values.get("up")
        state = "[red]down[/]" if up == 0 else ("up" if up == 1 else "[yellow]unknown[/]")
        gpus = values.get("gpus")
        nodes.add_row(
            escape(name),
            state,
            _percent(values.get("cpu")),
            _percent(values.get("memory")),
            _number(values.get("load"), 2),
            "-" if gpus is None else str(int(gpus)),
            _percent(values.get("gpu_utilization")),
        )
    projects = _usage_table("project", "projects (GPU usage by their members)", frame.projects)
    users = _usage_table("user", "users (GPU usage)", frame.users)
    alerts = Table(title="alerts firing", title_justify="left")
    for column in ("alert", "severity", "node", "about"):
        alerts.add_column(column)
    for alert in sorted(frame.alerts, key=lambda a: (a.get("alertname", ""), a.get("node", ""))):
        about = alert.get("source") or alert.get("path") or alert.get("name") or ""
        alerts.add_row(
            escape(alert.get("alertname", "")),
            escape(alert.get("severity", "")),
            escape(alert.get("node", "")),
            escape(about),
        )
    if not frame.alerts:
        alerts.add_row("(none)", "", "", "")
    return Group(nodes, projects, users, alerts)


def run(args: argparse.Namespace, console: Console) -> int:
    path = inventory_path(args.inventory)
    cluster = load_or_report(path, console)
    if cluster is None:
        return EXIT_BAD_INPUT
    node_names = [node.name for node in cluster.nodes]
    try:
        api = PrometheusApi.for_inventory(cluster.hosts_file.parent)
        if args.once:
            console.print(render(collect(api, node_names), api.url))
            return EXIT_OK
        with Live(console=console, auto_refresh=False) as live:
            while True:
                live.update(render(collect(api, node_names), api.url), refresh=True)
                time.sleep(args.interval)
    except MetricsUnavailable as error:
        console.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_OK
