"""A TLS client on one node accepts the certificate another node got from the
cluster CA, by name, with nothing but the system trust store; a wrong name is
refused. Molecule-only: it starts a throwaway TLS server."""

from __future__ import annotations

import pytest

testinfra_hosts = ["ansible://management"]

PKI = "/etc/gpucluster/pki"
PORT = 4433


@pytest.fixture
def tls_server(inventory):
    login = inventory.host("base-login01")
    login.run(
        f"systemd-run --unit=demo-tls --collect openssl s_server -quiet -accept {PORT} "
        f"-cert {PKI}/demo.crt -key {PKI}/demo.key -www"
    )
    login.run(f"for i in $(seq 50); do ss -ltn | grep -q :{PORT} && break; sleep 0.1; done")
    yield login
    login.run("systemctl stop demo-tls")


def _handshake(host, name: str):
    return host.run(
        f"echo | openssl s_client -connect 10.233.0.11:{PORT} -verify_return_error "
        f"-verify_hostname {name} -servername {name}"
    )


def test_the_client_verifies_the_server_by_name(host, tls_server):
    result = _handshake(host, "base-login01.ml.internal")
    assert result.rc == 0, result.stdout + result.stderr
    assert "Verification: OK" in result.stdout


def test_a_wrong_name_is_refused(host, tls_server):
    result = _handshake(host, "impostor.ml.internal")
    assert result.rc != 0
