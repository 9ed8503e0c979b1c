"""Role settings resolve as Ansible resolves them, one setting at a time.

Small fake roles under tmp_path: defaults < inventory < role vars, a template that
refers to another role's default, the magic variables, and laziness (a default holding
a password lookup writes its secret file only when that setting itself is read).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gpucluster import role_settings
from gpucluster.role_settings import (
    MISSING,
    HostContext,
    HostSettings,
    NeedsFacts,
    UndefinedSetting,
)

ROOT = Path(__file__).resolve().parents[2]


def _role(roles_dir: Path, name: str, defaults: dict | None = None, role_vars: dict | None = None):
    for kind, values in (("defaults", defaults), ("vars", role_vars)):
        if values is not None:
            (roles_dir / name / kind).mkdir(parents=True)
            (roles_dir / name / kind / "main.yml").write_text(yaml.safe_dump(values))


@pytest.fixture
def roles_dir(tmp_path: Path) -> Path:
    roles = tmp_path / "roles"
    _role(
        roles,
        "alpha",
        defaults={
            "alpha_port": 5000,
            "alpha_name": "alpha.{{ cluster_domain | default('cluster.internal') }}",
            "alpha_mode": "default",
            "alpha_fixed": "from defaults",
            "alpha_secret": (
                "{{ lookup('ansible.builtin.password', alpha_secrets_dir ~ '/alpha_password',"
                " length=16) }}"
            ),
            "alpha_secrets_dir": "{{ inventory_dir ~ '/.secrets' }}",
            "alpha_kernel": "linux-headers-{{ ansible_facts.kernel }}",
        },
        role_vars={"alpha_fixed": "from role vars"},
    )
    _role(
        roles,
        "beta",
        defaults={
            "beta_endpoint": "{{ alpha_name }}:{{ alpha_port }}",
            "beta_server": "{{ groups['servers'][0] }}",
            "beta_server_address": "{{ hostvars[beta_server].address }}",
            "beta_is_server": "{{ 'servers' in group_names }}",
            "beta_me": "{{ inventory_hostname }}",
        },
    )
    return roles


def _settings(roles_dir: Path, host: str = "node1", **inventory) -> HostSettings:
    hostvars = {
        "server1": {"address": "10.0.0.1"},
        "node1": {"address": "10.0.0.2"},
    }
    hostvars[host] = {**hostvars.get(host, {}), **inventory}
    context = HostContext(
        name=host,
        inventory_vars=hostvars[host],
        groups={"all": ["node1", "server1"], "servers": ["server1"], "nodes": ["node1"]},
        hostvars=hostvars,
        inventory_dir=str(roles_dir.parent / "inventory"),
    )
    return role_settings.for_host(context, roles_dir=roles_dir)


def test_role_defaults_are_the_value_when_the_inventory_is_silent(roles_dir):
    assert _settings(roles_dir)["alpha_mode"] == "default"
    assert _settings(roles_dir)["alpha_port"] == 5000


def test_the_inventory_overrides_a_default(roles_dir):
    assert _settings(roles_dir, alpha_mode="inventory")["alpha_mode"] == "inventory"


def test_role_vars_override_the_inventory(roles_dir):
    assert _settings(roles_dir)["alpha_fixed"] == "from role vars"
    assert _settings(roles_dir, alpha_fixed="inventory")["alpha_fixed"] == "from role vars"


def test_extra_vars_override_role_vars(roles_dir):
    context = HostContext(name="node1")
    settings = HostSettings(role_settings.load(roles_dir=roles_dir), context, {"alpha_fixed": "e"})
    assert settings["alpha_fixed"] == "e"


def test_a_template_reads_another_roles_default_and_the_inventory(roles_dir):
    assert _settings(roles_dir)["beta_endpoint"] == "alpha.cluster.internal:5000"
    overridden = _settings(roles_dir, cluster_domain="ml.internal", alpha_port=6000)
    assert overridden["beta_endpoint"] == "alpha.ml.internal:6000"


def test_groups_hostvars_and_the_hosts_own_names(roles_dir):
    settings = _settings(roles_dir)
    assert settings["beta_server"] == "server1"
    assert settings["beta_server_address"] == "10.0.0.1"
    assert settings["beta_me"] == "node1"
    assert settings["beta_is_server"] is False
    assert _settings(roles_dir, host="server1")["beta_is_server"] is True


def test_group_names_leave_out_all(roles_dir):
    assert _settings(roles_dir).template("{{ group_names }}") == ["nodes"]


def test_only_the_setting_asked_for_is_rendered(roles_dir):
    secret = roles_dir.parent / "inventory" / ".secrets" / "alpha_password"
    settings = _settings(roles_dir)
    assert settings["beta_endpoint"] == "alpha.cluster.internal:5000"
    assert settings.value("alpha_port") == 5000
    assert "alpha_secret" in settings
    assert not secret.exists(), "reading other settings rendered the password lookup"
    # The control: reading the lookup's own setting is what writes the file.
    assert len(settings["alpha_secret"]) == 16
    assert secret.exists()


def test_an_undefined_setting_names_itself_and_the_host(roles_dir):
    settings = _settings(roles_dir)
    with pytest.raises(UndefinedSetting) as raised:
        settings["alpha_missing"]
    assert "alpha_missing" in str(raised.value) and "node1" in str(raised.value)
    assert isinstance(raised.value, KeyError)
    with pytest.raises(UndefinedSetting, match="alpha_missing"):
        settings.value("alpha_missing")
    assert "alpha_missing" not in settings


def test_a_default_given_explicitly_stands_in_for_an_undefined_setting(roles_dir):
    settings = _settings(roles_dir)
    assert settings.value("alpha_missing", None) is None
    assert settings.value("alpha_missing", [1]) == [1]
    assert settings.value("alpha_port", 1) == 5000
    assert settings.get("alpha_missing") is None


def test_a_setting_that_needs_facts_says_it_cannot_be_rendered_offline(roles_dir):
    with pytest.raises(NeedsFacts, match=r"alpha_kernel.*node1.*ansible_facts"):
        _settings(roles_dir)["alpha_kernel"]


def test_a_template_of_an_undefined_variable_names_the_host(roles_dir):
    from ansible.errors import AnsibleUndefinedVariable

    with pytest.raises(AnsibleUndefinedVariable) as raised:
        _settings(roles_dir).template("{{ nowhere }}")
    assert any("node1" in note for note in raised.value.__notes__)


def test_load_reads_only_the_named_roles(roles_dir):
    only_beta = role_settings.load(["beta"], roles_dir)
    assert "beta_endpoint" in only_beta.defaults
    assert "alpha_port" not in only_beta.names()
    everything = role_settings.load(roles_dir=roles_dir)
    assert everything.role_vars == {"alpha_fixed": "from role vars"}


def test_missing_is_no_default():
    assert repr(MISSING) == "MISSING"


def test_the_project_roles_load_without_rendering_anything():
    """Every real role's settings in one namespace: no name is defined by two roles."""
    roles = ROOT / "roles"
    seen: dict[str, str] = {}
    for role in role_settings.role_names(roles):
        for name in role_settings.load([role], roles).names():
            assert name not in seen, f"{name} is set by both {seen[name]} and {role}"
            seen[name] = role
    settings = _settings(roles, host="node1", cluster_domain="ml.internal")
    assert settings["cluster_registry_endpoint"] == "registry.ml.internal:5000"
    assert not (roles.parent / "inventory" / ".secrets").exists()
