"""Molecule-only: the operator's own daemon.json key (seeded by prepare.yml) survived."""

import json

testinfra_hosts = ["ansible://rt-gpu01"]


def test_operator_key_survives_the_merge(host):
    settings = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert settings["max-concurrent-downloads"] == 7
    assert settings["default-runtime"] == "nvidia"
