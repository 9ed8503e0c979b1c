"""Every node that uses the registry reaches it by its cluster name on the
management node's storage address, verifies its certificate against the
cluster CA, and is refused without credentials; Docker does not treat it as
an insecure registry."""

from __future__ import annotations

import ipaddress
import json

testinfra_hosts = ["ansible://login", "ansible://gpu"]


def test_registry_name_resolves_to_the_management_storage_address(host, registry):
    resolved = host.run("getent hosts %s", registry.name)
    assert resolved.rc == 0, f"{registry.name} does not resolve"
    assert resolved.stdout.split()[0] == registry.listen_address


def test_certificate_verifies_against_the_cluster_ca(host, registry):
    handshake = host.run(
        "openssl s_client -connect %s -servername %s -verify_hostname %s "
        "-verify_return_error -CAfile %s < /dev/null",
        registry.address,
        registry.name,
        registry.name,
        registry.ca_file,
    )
    assert handshake.rc == 0, handshake.stderr
    assert "Verify return code: 0 (ok)" in handshake.stdout


def test_anonymous_requests_are_refused(host, registry):
    for method, path in (("GET", "/v2/_catalog"), ("POST", "/v2/test/hello/blobs/uploads/")):
        status = host.check_output(
            "curl -s -o /dev/null -w '%%{http_code}' --cacert %s -X %s https://%s%s",
            registry.ca_file,
            method,
            registry.address,
            path,
        )
        assert status == "401", (method, path, status)


def test_docker_does_not_treat_the_registry_as_insecure(host, registry):
    info = json.loads(host.check_output("docker info --format '{{json .RegistryConfig}}'"))
    assert info["IndexConfigs"].get(registry.address, {}).get("Secure", True)
    address = ipaddress.ip_address(registry.listen_address)
    insecure_cidrs = [ipaddress.ip_network(c) for c in info["InsecureRegistryCIDRs"] or []]
    assert not any(address in cidr for cidr in insecure_cidrs), insecure_cidrs
    installed = host.file(f"/etc/docker/certs.d/{registry.address}/ca.crt").content_string
    assert installed == host.file(registry.ca_file).content_string
