"""The overview's numbers have one definition: the recording rules of group
gpucluster-overview. `gpucluster top`, Prometheus' console page and the Grafana dashboard
read those recorded names; these tests hold all three to the rule file, and check the Grafana
files (rendered by Ansible from the role's templates) that no machine here can run."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from gpucluster.commands import top
from tests.unit.role_templates import ROOT, render_templates

RULES = ROOT / "roles" / "prometheus" / "templates" / "gpucluster.rules.yml.j2"
CONSOLE_PAGE = ROOT / "roles" / "prometheus" / "files" / "gpucluster.html"
RECORDED_NAME = re.compile(r"\b[a-z]+:gpucluster_[a-z0-9_]+:[a-z0-9]+\b")
GRAFANA_TEMPLATES = ["grafana.ini", "datasource.yml", "dashboards.yml", "overview.json"]
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _overview_records() -> set[str]:
    text = RULES.read_text(encoding="utf-8")
    start = text.index("- name: gpucluster-overview")
    end = text.index("- name:", start + 1)
    return set(re.findall(r"- record: (\S+)", text[start:end]))


@pytest.fixture(scope="module")
def grafana(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return render_templates(
        "grafana",
        GRAFANA_TEMPLATES,
        tmp_path_factory.mktemp("grafana"),
        {"management_address": "10.10.0.12", "cluster_ca_certificate_pem": CA_PEM},
    )


def test_top_reads_only_recorded_overview_series():
    queries = [
        *top.NODE_QUERIES.values(),
        *top.PROJECT_QUERIES.values(),
        *top.USER_QUERIES.values(),
    ]
    used = {name for query in queries for name in RECORDED_NAME.findall(query)}
    assert used and used <= _overview_records(), used - _overview_records()


def test_the_console_page_reads_only_recorded_overview_series():
    used = set(RECORDED_NAME.findall(CONSOLE_PAGE.read_text(encoding="utf-8")))
    assert used and used <= _overview_records(), used - _overview_records()


def test_the_grafana_dashboard_shows_every_overview_series(grafana):
    dashboard = json.loads(grafana["overview.json"])
    assert dashboard["uid"] == "gpucluster-overview"
    targets = [target for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for target in targets for name in RECORDED_NAME.findall(target["expr"])}
    assert used == _overview_records()
    # Legends name the series by their label, as Grafana spells it (not rendered away).
    assert {"{{node}}", "{{project}}", "{{user}}", "{{source}}"} <= {
        target["legendFormat"] for target in targets
    }
    assert {panel["datasource"]["uid"] for panel in dashboard["panels"]} == {
        "gpucluster-prometheus"
    }
    # Two panels a row, none on top of another.
    places = [(panel["gridPos"]["x"], panel["gridPos"]["y"]) for panel in dashboard["panels"]]
    assert len(set(places)) == len(places)


def test_grafana_asks_prometheus_over_tls_with_a_password_read_from_a_file(grafana):
    datasources = yaml.safe_load(grafana["datasource.yml"])["datasources"]
    assert len(datasources) == 1
    source = datasources[0]
    assert source["uid"] == "gpucluster-prometheus"
    assert source["url"] == "https://10.10.0.12:9090"
    assert (source["basicAuth"], source["basicAuthUser"]) == (True, "gpucluster")
    assert source["jsonData"] == {"tlsAuthWithCACert": True}
    assert source["secureJsonData"] == {
        "basicAuthPassword": "$__file{/etc/grafana/secrets/prometheus.password}",
        "tlsCACert": CA_PEM,
    }
    provider = yaml.safe_load(grafana["dashboards.yml"])["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/gpucluster"
    assert provider["allowUiUpdates"] is False


def test_grafana_serves_https_on_the_management_address_to_accounts_only(grafana):
    settings: dict[str, dict[str, str]] = {}
    section = ""
    for line in grafana["grafana.ini"].splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(section, {})[key.strip()] = value.strip()
    assert settings["server"]["protocol"] == "https"
    assert settings["server"]["http_addr"] == "10.10.0.12"
    assert settings["security"]["admin_password"] == "$__file{/etc/grafana/secrets/admin.password}"
    assert settings["users"]["allow_sign_up"] == "false"
    assert settings["auth.anonymous"]["enabled"] == "false"
    assert settings["analytics"]["reporting_enabled"] == "false"
