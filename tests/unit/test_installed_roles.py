"""verify checks what the install runs: the tests of a role site.yml does not run are left
out (and named), the tests of every role it runs are kept."""

from __future__ import annotations

from pathlib import Path

from gpucluster.installed_roles import role_tests_not_installed, roles_run_by_install

ROOT = Path(__file__).resolve().parents[2]


def test_the_install_runs_the_roles_site_yml_names_and_includes():
    roles = roles_run_by_install(ROOT)
    # A play's role, and a role site.yml only includes from a task (registry logins).
    assert {"common", "prometheus", "dcgm_exporter", "grafana", "registry", "mlflow"} <= roles


def test_verify_leaves_out_only_the_tests_of_roles_the_install_does_not_run():
    left_out = {directory.name for directory in role_tests_not_installed(ROOT)}
    assert left_out == set()  # every role with tests is installed now


def test_a_role_added_to_site_yml_gets_verified(tmp_path):
    for name in ("mlflow", "common"):
        (tmp_path / "roles" / name).mkdir(parents=True)
        (tmp_path / "tests" / "infra" / name).mkdir(parents=True)
    (tmp_path / "tests" / "infra" / "monitoring_helpers").mkdir()  # not a role: never left out
    (tmp_path / "playbooks").mkdir()
    site = tmp_path / "playbooks" / "site.yml"
    site.write_text("- hosts: all\n  roles:\n    - role: common\n")
    assert [d.name for d in role_tests_not_installed(tmp_path)] == ["mlflow"]
    site.write_text("- hosts: all\n  roles:\n    - role: common\n    - role: mlflow\n")
    assert role_tests_not_installed(tmp_path) == []
