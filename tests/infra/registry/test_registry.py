"""Role registry, on the management node: nginx serves the registry over TLS
with a certificate from the cluster CA on the storage network only and asks
for credentials; the registry itself listens on a Unix socket only nginx may
open, keeps images where the inventory says, and collects garbage on a timer;
its generated password stays 0600 on the controller."""

from __future__ import annotations

import stat

import yaml

testinfra_hosts = ["ansible://management"]

CONFIG = "/etc/docker/registry/config.yml"


def test_nginx_serves_the_registry_on_the_storage_address_only(host, registry):
    for unit in ("docker-registry", "nginx"):
        service = host.service(unit)
        assert service.is_enabled and service.is_running, unit
    listening = [str(s) for s in host.socket.get_listening_sockets()]
    tcp = [s for s in listening if s.startswith("tcp")]
    assert [s for s in tcp if s.endswith(f":{registry.port}")] == [
        f"tcp://{registry.listen_address}:{registry.port}"
    ], tcp
    assert not [s for s in tcp if s.endswith((":80", ":443"))], tcp  # nginx's default site


def test_the_registry_listens_on_a_socket_only_nginx_may_open(host):
    config = yaml.safe_load(host.file(CONFIG).content_string)
    assert config["http"]["net"] == "unix"
    assert "auth" not in config and "tls" not in config["http"], "nginx does both"
    socket = host.file(config["http"]["addr"])
    assert socket.is_socket
    assert (socket.user, socket.group) == ("docker-registry", "docker-registry")
    assert socket.mode & 0o007 == 0, oct(socket.mode)
    assert "docker-registry" in host.user("www-data").groups
    # Someone else on the management node cannot bypass nginx through the socket.
    bypass = host.run(
        "runuser -u nobody -- curl -s --unix-socket %s http://registry/v2/", socket.path
    )
    assert bypass.rc != 0, bypass.stdout


def test_storage_deletes_and_the_htpasswd_files(host, inventory):
    config = yaml.safe_load(host.file(CONFIG).content_string)
    assert config["storage"]["delete"]["enabled"] is True
    storage = inventory.setting("registry_storage_path")
    assert config["storage"]["filesystem"]["rootdirectory"] == storage
    assert host.file(storage).user == "docker-registry"
    assert not host.file("/etc/docker/registry/htpasswd").exists
    for accounts in ("users", "admins"):
        htpasswd = host.file(f"/etc/nginx/gpucluster-registry/{accounts}")
        assert (htpasswd.user, htpasswd.group, htpasswd.mode) == ("root", "www-data", 0o640)
        lines = [line for line in htpasswd.content_string.splitlines() if ":" in line]
        assert all(line.split(":", 1)[1].startswith("$6$") for line in lines), accounts


def test_certificate_names_the_registry_and_verifies_against_the_cluster_ca(host, registry):
    certificate = "/etc/docker/registry/tls/registry.crt"
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
