"""backup_client's files for the management node, rendered by Ansible itself from the real
templates with the role's defaults: what the backup host may read there (MLflow's dumps and
artifacts, never its configuration with the secrets) and the MLflow dump script."""

from __future__ import annotations

import subprocess

import pytest

from tests.unit.role_templates import render_templates

TEMPLATES = ["paths", "gpucluster-mlflow-dump"]
MANAGEMENT = {"group_names": ["management"], "inventory_hostname": "mgmt01"}


def _paths(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    return render_templates("backup_client", TEMPLATES, tmp_path_factory.mktemp("bc"), MANAGEMENT)


def test_management_backs_up_mlflow_dumps_and_artifacts_not_its_secrets(rendered):
    paths = _paths(rendered["paths"])
    assert paths[-2:] == ["/var/backups/gpucluster/mlflow", "/var/lib/mlflow/artifacts"]
    assert not [path for path in paths if path.startswith("/etc/mlflow")]


def test_artifacts_follow_mlflow_data_dir_set_in_the_inventory(tmp_path):
    extra = MANAGEMENT | {"mlflow_data_dir": "/srv/mlflow"}
    paths = _paths(render_templates("backup_client", ["paths"], tmp_path, extra)["paths"])
    assert "/srv/mlflow/artifacts" in paths


def test_mlflow_dump_script_dumps_both_databases_into_root_only_files(rendered, tmp_path):
    script = rendered["gpucluster-mlflow-dump"]
    assert "DUMP_DIR=/var/backups/gpucluster/mlflow\n" in script
    assert "DATABASES=(mlflow mlflow_auth)\n" in script
    assert "umask 077\n" in script
    assert "runuser -u postgres -- pg_dump --format=custom" in script
    # Skips, successfully, where MLflow is not installed (like the LDAP dump without slapd).
    assert "MLflow dump skipped" in script
    path = tmp_path / "gpucluster-mlflow-dump"
    path.write_text(script)
    checked = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
