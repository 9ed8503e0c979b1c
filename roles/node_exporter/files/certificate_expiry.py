#!/usr/bin/python3
"""When each of the cluster's certificates expires: a node_exporter textfile collector.

The cluster CA issues every TLS certificate in the cluster (LDAP, registry, the metrics
endpoints) and the roles renew them on a run within 30 days of expiry. A cluster nobody
converges for months would let them lapse silently; this series lets an alert say so weeks
ahead. It reads the certificate files named by glob patterns in the collectors' settings
(JSON, `certificate_patterns`); a copy of the same certificate in several places (the CA
next to each server certificate) is reported once, at its first path.

It runs with the node's python3: the standard library and python3-cryptography, which the
cluster_ca role installs on every node.
"""

from __future__ import annotations

import glob
import sys
from datetime import UTC
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from textfile import Gauges, run_collector  # beside this file on the node

OUTPUT_NAME = "gpucluster_certificates.prom"
METRICS = {
    "gpucluster_certificate_expiry_timestamp_seconds": "When the certificate expires (notAfter).",
    "gpucluster_certificate_read_errors": "Certificate files matched but not readable as PEM.",
}


def render(patterns: list[str]) -> tuple[str, list[str]]:
    """The exposition text for the certificates the patterns match, and the read errors."""
    gauges = Gauges(METRICS)
    seen: set[bytes] = set()
    errors: list[str] = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):  # noqa: PTH207 (absolute patterns)
            try:
                certificate = x509.load_pem_x509_certificate(Path(path).read_bytes())
            except (OSError, ValueError) as error:
                errors.append(f"{path}: {error}")
                continue
            fingerprint = certificate.fingerprint(hashes.SHA256())
            if fingerprint in seen:
                continue
            seen.add(fingerprint)
            labels = {"path": path, "subject": certificate.subject.rfc4514_string()}
            expiry = _expiry(certificate)
            gauges.add("gpucluster_certificate_expiry_timestamp_seconds", labels, expiry)
    gauges.add("gpucluster_certificate_read_errors", {}, len(errors))
    return gauges.text(), errors


def _expiry(certificate: x509.Certificate) -> int:
    """notAfter as a Unix time; cryptography before 42 (Debian 12: 38) gives it naive, in UTC."""
    after = getattr(certificate, "not_valid_after_utc", None)
    if after is None:
        after = certificate.not_valid_after.replace(tzinfo=UTC)
    return int(after.timestamp())


def main(argv: list[str] | None = None) -> int:
    return run_collector(
        argv,
        __doc__,
        OUTPUT_NAME,
        lambda settings, _: render([str(p) for p in settings.get("certificate_patterns", [])]),
    )


if __name__ == "__main__":
    sys.exit(main())
