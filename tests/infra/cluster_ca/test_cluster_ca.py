"""Role cluster_ca: one CA whose key stays on its host, trusted by every node,
and server certificates that verify against it."""

from __future__ import annotations

testinfra_hosts = ["ansible://all"]

PKI = "/etc/gpucluster/pki"


def _ca_host(inventory) -> str:
    return inventory.setting("cluster_ca_host")


def test_the_ca_key_exists_only_on_the_ca_host(host, inventory):
    key = host.file(f"{PKI}/ca.key")
    if inventory.name == _ca_host(inventory):
        assert key.exists
        assert key.user == "root"
        assert key.mode == 0o600
    else:
        assert not key.exists


def test_the_ca_certificate_is_a_ca(host):
    text = host.check_output(f"openssl x509 -in {PKI}/ca.crt -noout -text")
    assert "CA:TRUE" in text
    assert "Certificate Sign" in text


def test_the_system_trust_store_trusts_the_ca(host):
    # No -CAfile: only the system store, where update-ca-certificates put it.
    result = host.run(f"openssl verify {PKI}/ca.crt")
    assert result.rc == 0, result.stderr
    assert host.file("/etc/ssl/certs/ca-certificates.crt").contains("BEGIN CERTIFICATE")


def test_server_certificates_verify_and_match_their_keys(host):
    certificates = [
        path
        for path in host.check_output(f"ls {PKI}").split()
        if path.endswith(".crt") and path != "ca.crt"
    ]
    for name in certificates:
        cert = f"{PKI}/{name}"
        key = cert.removesuffix(".crt") + ".key"
        assert host.run(f"openssl verify {cert}").rc == 0, cert
        assert host.file(key).mode == 0o640
        cert_key = host.check_output(f"openssl x509 -in {cert} -noout -pubkey")
        own_key = host.check_output(f"openssl pkey -in {key} -pubout")
        assert cert_key == own_key, f"{cert} does not belong to {key}"
