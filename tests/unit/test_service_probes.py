"""The service probe collector's LDAP framing and its verdicts (roles/node_exporter/files).

The bytes are RFC 4511's LDAPMessage encodings written out by hand; the TCP probe runs
against real sockets on loopback. The LDAP and HTTPS probes against real slapd and the real
registry run in the end-to-end test and, cross-checked with stock clients, in verify.
"""

from __future__ import annotations

import socket

from prometheus_client.parser import text_string_to_metric_families

from tests.unit.conftest import load_collector

probes = load_collector("service_probes")

# StartTLS: messageID 1, extendedReq [APPLICATION 23] { requestName [0] OID }.
STARTTLS = bytes.fromhex("301d02010177188016") + b"1.3.6.1.4.1.1466.20037"
# extendedResp [APPLICATION 24] { resultCode success, matchedDN "", diagnosticMessage "" }.
STARTTLS_OK = bytes.fromhex("300c02010178070a010004000400")
# bindResponse [APPLICATION 1] { resultCode inappropriateAuthentication (48), "", "" }.
BIND_REFUSED = bytes.fromhex("300c02010261070a013004000400")


def _reader(data: bytes):
    view = memoryview(data)
    position = 0

    def read(count: int) -> bytes:
        nonlocal position
        chunk = bytes(view[position : position + count])
        position += count
        return chunk

    return read


def test_starttls_request_is_rfc_4511_framing():
    request = probes._ber(
        0x30, b"\x02\x01\x01" + probes._ber(0x77, probes._ber(0x80, probes.STARTTLS_OID))
    )
    assert request == STARTTLS


def test_results_are_read_from_ldap_messages():
    tag, content = probes._read_message(_reader(STARTTLS_OK))
    assert (tag, probes._result_code(content)) == (0x78, 0)
    tag, content = probes._read_message(_reader(BIND_REFUSED))
    assert (tag, probes._result_code(content)) == (0x61, 48)


def test_long_form_lengths_are_encoded():
    content = b"x" * 300
    encoded = probes._ber(0x04, content)
    assert encoded[:4] == bytes([0x04, 0x82, 0x01, 0x2C])


def test_tcp_probe_verdicts_on_loopback():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    open_port = listener.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]  # bound, never listening: connections are refused
    try:
        text, failures = probes.render(
            [
                {"name": "nfs", "kind": "tcp", "host": "127.0.0.1", "port": open_port},
                {"name": "gone", "kind": "tcp", "host": "127.0.0.1", "port": closed_port},
            ],
            ca_file=None,
            timeout=2,
        )
    finally:
        listener.close()
        closed.close()
    found = {
        (s.labels["probe"], s.name): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert found[("nfs", "gpucluster_probe_success")] == 1
    assert found[("gone", "gpucluster_probe_success")] == 0
    assert len(failures) == 1 and failures[0].startswith(f"gone 127.0.0.1:{closed_port}:")
