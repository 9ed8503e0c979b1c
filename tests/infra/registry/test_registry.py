"""Role registry, on the management node: the registry serves TLS with a
certificate from the cluster CA on the storage network only, asks for
credentials, keeps images where the inventory says, and collects garbage on
a timer; its generated password stays 0600 on the controller."""

from __future__ import annotations

import stat

import yaml

testinfra_hosts = ["ansible://management"]

CONFIG = "/etc/docker/registry/config.yml"


def test_registry_runs_and_listens_on_the_storage_address_only(host, registry):
    service = host.service("docker-registry")
    assert service.is_enabled
    assert service.is_running
    listening = [str(s) for s in host.socket.get_listening_sockets()]
    ours = [s for s in listening if s.endswith(f":{registry.port}")]
    assert ours == [f"tcp://{registry.listen_address}:{registry.port}"], ours


def test_configuration_has_tls_htpasswd_deletes_and_the_storage_path(host, inventory):
    config = yaml.safe_load(host.file(CONFIG).content_string)
    assert config["storage"]["delete"]["enabled"] is True
    storage = inventory.resolved("registry_storage_path", "/var/lib/docker-registry")
    assert config["storage"]["filesystem"]["rootdirectory"] == storage
    assert host.file(storage).user == "docker-registry"
    assert config["http"]["tls"]["certificate"]
    htpasswd = host.file(config["auth"]["htpasswd"]["path"])
    assert htpasswd.mode == 0o640
    assert htpasswd.group == "docker-registry"
    user, hashed = htpasswd.content_string.strip().split(":", 1)
    assert user == inventory.resolved("registry_username", "gpucluster")
    assert hashed.startswith(("$2y$", "$2b$", "$2a$")), "not a bcrypt hash"


def test_certificate_names_the_registry_and_verifies_against_the_cluster_ca(host, registry):
    config = yaml.safe_load(host.file(CONFIG).content_string)
    certificate = config["http"]["tls"]["certificate"]
    names = host.check_output("openssl x509 -noout -ext subjectAltName -in %s", certificate)
    assert f"DNS:{registry.name}" in names
    assert f"IP Address:{registry.listen_address}" in names
    verified = host.run("openssl verify -CAfile %s %s", registry.ca_file, certificate)
    assert verified.rc == 0, verified.stdout + verified.stderr


def test_garbage_collection_timer_is_enabled(host):
    timer = host.service("docker-registry-gc.timer")
    assert timer.is_enabled
    assert timer.is_running
    unit = host.check_output("systemctl cat docker-registry-gc.service")
    assert "ExecStartPre=+/bin/systemctl stop docker-registry.service" in unit
    assert "ExecStopPost=+/bin/systemctl start docker-registry.service" in unit
    assert "garbage-collect" in unit


def test_password_file_is_private_on_the_controller(registry):
    mode = stat.S_IMODE(registry.password_file.stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert len(registry.password()) >= 20
