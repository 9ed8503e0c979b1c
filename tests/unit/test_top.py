"""`gpucluster top`: what a frame shows, and how it fails without a Prometheus to ask.

The frame is rendered from values shaped as Prometheus' API returns them; the queries
themselves run against the sandbox's real Prometheus in the end-to-end test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rich.console import Console

from gpucluster.cli import main
from gpucluster.commands import EXIT_FAILED
from gpucluster.commands.top import Frame, render
from gpucluster.metrics_api import CLIENT_FILE, MetricsUnavailable, PrometheusApi
from tests.unit.conftest import EXAMPLE


def _text(frame: Frame) -> str:
    console = Console(width=200, record=True)
    console.print(render(frame, "https://10.0.0.1:9090"))
    return console.export_text()


def test_a_frame_shows_nodes_projects_and_alerts():
    frame = Frame()
    frame.nodes["gpu01"].update(up=1.0, cpu=0.5, memory=0.25, load=3.5, gpus=8, gpu_utilization=0.9)
    frame.nodes["gpu02"].update(up=0.0)
    frame.nodes["login01"]  # in the inventory, never scraped
    frame.projects["vision"].update(gpus_now=2.5, gpu_hours_30d=120.25)
    frame.users["alice"].update(gpus_now=1.5, gpu_hours_30d=80.5)
    frame.alerts = [{"alertname": "NodeDown", "severity": "critical", "node": "gpu02"}]
    lines = {line.split("│")[1].strip(): line for line in _text(frame).splitlines() if "│" in line}
    assert [c.strip() for c in lines["gpu01"].split("│")[2:8]] == [
        "up", "50%", "25%", "3.50", "8", "90%",
    ]  # fmt: skip
    assert lines["gpu02"].split("│")[2].strip() == "down"
    assert lines["login01"].split("│")[2].strip() == "unknown"
    assert [c.strip() for c in lines["vision"].split("│")[2:4]] == ["2.50", "120.2"]
    assert [c.strip() for c in lines["alice"].split("│")[2:4]] == ["1.50", "80.5"]
    assert [c.strip() for c in lines["NodeDown"].split("│")[2:4]] == ["critical", "gpu02"]


def test_an_empty_frame_says_so():
    text = _text(Frame())
    assert "(no GPU process seen)" in text and "(none)" in text


def test_without_an_install_it_names_the_missing_file(tmp_path: Path):
    try:
        PrometheusApi.for_inventory(tmp_path)
    except MetricsUnavailable as error:
        assert str(tmp_path / CLIENT_FILE) in str(error) and "gpucluster install" in str(error)
    else:
        raise AssertionError("no error without client.json")


def test_top_exits_failed_with_one_line_when_prometheus_is_unreachable(tmp_path, capsys):
    inventory = tmp_path / "inventory"
    shutil.copytree(EXAMPLE, inventory)
    client = inventory / CLIENT_FILE
    client.parent.mkdir(parents=True)
    # Loopback port 9 (discard): nothing answers TLS there.
    client.write_text(json.dumps({"url": "https://127.0.0.1:9", "username": "u", "ca_pem": ""}))
    (client.parent / "u.password").write_text("secret\n")
    assert main(["top", "--once", "-i", str(inventory)]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "error: https://127.0.0.1:9:" in out and "Traceback" not in out
    assert "secret" not in out
