"""The metrics endpoints as the inventory describes them, for the monitoring test modules.

Shared by tests/infra/node_exporter, dcgm_exporter and prometheus (the `metrics` fixture of
tests/infra/plugin.py). Requests go from the test
process (the controller, which reaches every node's management address) straight to the
endpoints, trusting only the cluster CA read from the management node. The generated
passwords are read from the controller's secrets directory and never leave this process.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpucluster.metrics_api import PrometheusApi


@dataclass
class Endpoints:
    server: str
    server_address: str
    prometheus_port: int
    node_exporter_port: int
    scrape_username: str
    operator_username: str
    password_dir: Path
    ca_pem: str
    inventory: Any = field(repr=False)

    def password(self, account: str) -> str:
        return (self.password_dir / f"{account}.password").read_text().split()[0]

    def context(self) -> ssl.SSLContext:
        """Verifies the server against the cluster CA alone, host name included."""
        context = ssl.create_default_context(cadata=self.ca_pem)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def get(self, url: str, account: str | None = None, password: str | None = None):
        """(HTTP status, body) of a GET; `account` sends its generated password (or `password`)."""
        request = urllib.request.Request(url)
        if account is not None:
            secret = password if password is not None else self.password(account)
            token = base64.b64encode(f"{account}:{secret}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.context()) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def node_metrics_url(self, name: str) -> str:
        return (
            f"https://{self.inventory.management_address(name)}:{self.node_exporter_port}/metrics"
        )

    def prometheus_url(self, path: str) -> str:
        return f"https://{self.server_address}:{self.prometheus_port}{path}"

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector Prometheus answers the operators' account."""
        return PrometheusApi(
            self.prometheus_url(""),
            self.operator_username,
            self.password(self.operator_username),
            self.ca_pem,
        ).query(promql)


WEBHOOK_RECEIVER = r"""
import http.server, sys
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "ab") as out:
            out.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
http.server.HTTPServer((sys.argv[1], int(sys.argv[3])), Receiver).serve_forever()
"""
"""An Alertmanager webhook receiver for a node's python3: `python3 -c WEBHOOK_RECEIVER <address>
<file> <port>` appends each notification to <file>, one JSON document per line."""


def received_alerts(text: str) -> list[dict[str, Any]]:
    """The alerts of every notification the receiver wrote."""
    return [alert for line in text.splitlines() if line for alert in json.loads(line)["alerts"]]


def wait_for(check: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """`check()`'s first truthy result within `timeout` seconds, else its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def endpoints(inventory: Any) -> Endpoints:
    server = inventory.first_of("management")
    server_host = inventory.host(server)
    ca_dir = inventory.setting("cluster_ca_dir", of=server)
    return Endpoints(
        server=server,
        server_address=str(inventory.setting("prometheus_listen_address", of=server)),
        prometheus_port=int(inventory.setting("cluster_prometheus_port", of=server)),
        node_exporter_port=int(inventory.setting("cluster_node_exporter_port", of=server)),
        scrape_username=str(inventory.setting("cluster_monitoring_scrape_username")),
        operator_username=str(inventory.setting("cluster_monitoring_operator_username")),
        password_dir=Path(inventory.setting("cluster_monitoring_password_dir")),
        ca_pem=server_host.file(f"{ca_dir}/ca.crt").content_string,
        inventory=inventory,
    )
