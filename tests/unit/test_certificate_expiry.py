"""The certificate expiry collector reads real PEM certificates, each once.

The certificates are made here with `cryptography` (what the collector reads them with on
the node): a CA, a server certificate it signed, a copy of the CA beside it (reported once)
and a file that is not a certificate (counted as a read error).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.conftest import load_collector

certificate_expiry = load_collector("certificate_expiry")
NOW = datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)


def _certificate(subject: str, issuer: str, key, signer, days: int) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=days))
        .sign(signer, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_each_certificate_is_reported_once_with_its_expiry(tmp_path: Path):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    server_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("test cluster CA", "test cluster CA", ca_key, ca_key, 3650)
    pki, tls = tmp_path / "pki", tmp_path / "registry" / "tls"
    pki.mkdir()
    tls.mkdir(parents=True)
    (pki / "ca.crt").write_bytes(ca)
    (tls / "ca.crt").write_bytes(ca)  # the copy beside a server certificate
    (tls / "registry.crt").write_bytes(
        _certificate("registry", "test cluster CA", server_key, ca_key, 825)
    )
    (tls / "broken.crt").write_text("not a certificate\n")
    settings = tmp_path / "collectors.json"
    settings.write_text(
        json.dumps({"certificate_patterns": [f"{pki}/*.crt", f"{tmp_path}/*/tls/*.crt"]})
    )
    out = tmp_path / "textfile"
    out.mkdir()

    assert certificate_expiry.main(["--settings", str(settings), "--output-dir", str(out)]) == 0

    text = (out / certificate_expiry.OUTPUT_NAME).read_text()
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    expiry = {
        s.labels["path"]: s.value
        for s in samples
        if s.name == "gpucluster_certificate_expiry_timestamp_seconds"
    }
    assert expiry == {
        str(pki / "ca.crt"): (NOW + datetime.timedelta(days=3650)).timestamp(),
        str(tls / "registry.crt"): (NOW + datetime.timedelta(days=825)).timestamp(),
    }
    errors = [s.value for s in samples if s.name == "gpucluster_certificate_read_errors"]
    assert errors == [1]
