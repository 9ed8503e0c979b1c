"""The scenarios' own create step starts the containers the driver would have started."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.molecule_instances.platforms import (
    IDLE_COMMAND,
    PlatformError,
    container_settings,
    networks_of,
)

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(path.parent.name for path in (ROOT / "molecule").glob("*/molecule.yml"))


def platforms_of(scenario: str) -> list[dict]:
    return yaml.safe_load((ROOT / "molecule" / scenario / "molecule.yml").read_text())["platforms"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_platform_is_understood(scenario):
    for platform in platforms_of(scenario):
        settings = container_settings(platform)
        assert settings["container"]["name"] == platform["name"]
        # systemd as PID 1, stopped the way systemd wants, without --privileged.
        assert settings["container"]["command"] is None
        assert settings["container"]["stop_signal"] == "SIGRTMIN+3"
        assert settings["host"]["cgroupns"] == "host"
        assert "SYS_ADMIN" in settings["host"]["cap_add"]
        assert settings["host"]["binds"]["/sys/fs/cgroup"] == {
            "bind": "/sys/fs/cgroup",
            "mode": "rw",
        }


def test_volumes_split_into_binds_and_anonymous_volumes():
    settings = container_settings(
        {
            "name": "n",
            "image": "i",
            "pre_build_image": True,
            "volumes": ["/sys/fs/cgroup:/sys/fs/cgroup:rw", "/srv/nfs", "/a:/b"],
            "tmpfs": ["/run"],
        }
    )
    assert settings["container"]["volumes"] == ["/srv/nfs", "/sys/fs/cgroup", "/b"]
    assert settings["host"]["binds"] == {
        "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
        "/a": {"bind": "/b", "mode": "rw"},
    }
    assert settings["host"]["tmpfs"] == {"/run": ""}
    # Without override_command: false the driver replaces the image's command.
    assert settings["container"]["command"] == IDLE_COMMAND


@pytest.mark.parametrize(
    ("platform", "message"),
    [
        ({"name": "n", "image": "i", "pre_build_image": True, "privileged": True}, "privileged"),
        ({"name": "n", "image": "i"}, "pre_build_image"),
    ],
)
def test_a_field_it_does_not_handle_is_refused_by_name(platform, message):
    with pytest.raises(PlatformError, match=message):
        container_settings(platform)


def test_networks_are_made_once_in_the_order_they_are_named():
    platforms = [
        {
            "name": "a",
            "docker_networks": [
                {"name": "mgmt", "ipam_config": [{"subnet": "10.0.0.0/24"}]},
                {"name": "storage", "driver_options": {"com.docker.network.driver.mtu": "9000"}},
            ],
            "networks": [{"name": "mgmt"}, {"name": "storage"}],
        },
        {"name": "b", "networks": [{"name": "storage"}, {"name": "extra"}]},
    ]
    assert networks_of(platforms) == [
        {"name": "mgmt", "ipam_config": [{"subnet": "10.0.0.0/24"}]},
        {"name": "storage", "driver_options": {"com.docker.network.driver.mtu": "9000"}},
        {"name": "extra"},
    ]
