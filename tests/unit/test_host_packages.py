"""The one apt transaction per host gets exactly the packages of the roles that serve it.

`common` installs what roles/common/lookup_plugins/host_packages.py returns. These tests run
that lookup through Ansible against the example inventory and compare it with the lists the
roles declare, read from the role files (never typed here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"


def role_file(role: str, kind: str = "defaults") -> dict[str, Any]:
    path = ROLES / role / kind / "main.yml"
    return yaml.safe_load(path.read_text()) if path.exists() else {}


def host_packages(
    inventory: Path, host: str, *extra_vars: str, roles: list[str] | None = None
) -> set[str]:
    """The lookup's answer for `host`, evaluated by Ansible itself."""
    return set(host_lookup(inventory, host, *extra_vars, roles=roles))


def host_lookup(
    inventory: Path,
    host: str,
    *extra_vars: str,
    roles: list[str] | None = None,
    setting: str = "base_packages",
) -> list[Any]:
    """The lookup's answer for `host` and `setting`, as Ansible evaluates it."""
    only = f", roles={roles!r}" if roles is not None else ""
    expression = (
        "{{ lookup('host_packages', '" + str(ROLES) + "'" + only
        + f", setting='{setting}', wantlist=True) | to_json }}}}"
    )  # fmt: skip
    command = [str(Path(sys.executable).parent / "ansible"), host, "-i", str(inventory)]
    command += ["-c", "local", "-m", "ansible.builtin.debug", "-a", f"msg={expression}"]
    for assignment in extra_vars:
        command += ["-e", assignment]
    env = dict(
        os.environ,
        ANSIBLE_LOOKUP_PLUGINS=str(ROLES / "common" / "lookup_plugins"),
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_NOCOLOR="1",
    )
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"][host]
    return json.loads(result["msg"]) if isinstance(result["msg"], str) else result["msg"]


def test_a_gpu_node_gets_the_packages_of_the_roles_that_serve_gpu_nodes(
    inventory: Path,
) -> None:
    packages = host_packages(inventory, "gpu01")
    assert set(role_file("common")["common_base_packages"]) <= packages
    assert set(role_file("ldap_client")["ldap_client_packages"]) <= packages
    assert set(role_file("containerd")["containerd_packages"]) <= packages
    assert set(role_file("docker")["docker_distribution_packages"]) <= packages
    nfs = role_file("nfs_client")
    assert set(nfs["nfs_client_packages"] + nfs["nfs_client_tool_packages"]) <= packages
    # The registry serves the management node only.
    assert not set(role_file("registry")["registry_packages"]) & packages


def test_the_file_server_gets_its_backend_from_role_vars_and_no_docker(
    inventory: Path,
) -> None:
    packages = host_packages(inventory, "fs01")
    backend = role_file("nfs_server")["nfs_server_backend"]
    assert set(role_file("nfs_server", "vars")["nfs_server_packages"][backend]) <= packages
    assert not set(role_file("docker")["docker_distribution_packages"]) & packages


def test_inventory_settings_decide_what_a_role_needs(inventory: Path) -> None:
    packages = host_packages(
        inventory, "fs01", "nfs_server_backend=ganesha", "docker_package_source=upstream"
    )
    ganesha = set(role_file("nfs_server", "vars")["nfs_server_packages"]["ganesha"])
    assert ganesha <= packages
    # Docker from its own repository is installed by the role, after the source exists.
    gpu = host_packages(inventory, "gpu01", "docker_package_source=upstream")
    assert not set(role_file("docker")["docker_distribution_packages"]) & gpu


def test_every_role_with_base_packages_says_which_groups_it_serves() -> None:
    for role_dir in sorted(ROLES.iterdir()):
        defaults = role_file(role_dir.name)
        declares_packages = f"{role_dir.name}_base_packages" in defaults
        declares_groups = f"{role_dir.name}_groups" in defaults
        if declares_packages:
            assert declares_groups, f"{role_dir.name} has base packages but no _groups"


def test_a_play_that_runs_some_roles_gets_only_their_packages(inventory: Path) -> None:
    """A Molecule scenario names its roles; the cluster-wide union would install far more."""
    packages = host_packages(inventory, "gpu01", roles=["common", "containerd"])
    wanted = set(role_file("common")["common_base_packages"])
    wanted |= set(role_file("containerd")["containerd_packages"])
    assert packages == wanted


def test_slapd_is_preseeded_with_the_cluster_domain_where_it_is_installed(
    inventory: Path,
) -> None:
    domain = yaml.safe_load((inventory / "group_vars" / "all.yml").read_text())["cluster_domain"]
    answers = host_lookup(inventory, "mgmt01", setting="base_debconf")
    assert {"name": "slapd", "question": "slapd/domain", "vtype": "string", "value": domain} in (
        answers
    )
    assert "slapd" in host_packages(inventory, "mgmt01")
    # Nothing to answer where no role with questions serves the host.
    assert host_lookup(inventory, "gpu01", setting="base_debconf") == []


def test_a_malformed_selection_is_refused_by_name(inventory: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError) as refused:
        host_lookup(
            inventory, "mgmt01", json.dumps({"ldap_server_base_debconf": [{"name": "slapd"}]}),
            setting="base_debconf",
        )  # fmt: skip
    message = "ldap_server_base_debconf must be a list of debconf selections"
    assert message in refused.value.stdout
