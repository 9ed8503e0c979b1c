#!/usr/bin/python3
"""Can this node use the cluster's services? A node_exporter textfile collector.

An exporter that is up says nothing about whether a GPU node can still log a user in, pull
an image or reach its home directory. This collector asks each service the way this node's
clients do, from this node, over the network the clients use:

- `ldap`: StartTLS on port 389, the server's certificate checked against the cluster CA
  and its name, then an LDAP bind (anonymous: slapd answers it only over TLS);
- `https`: a GET whose expected status is given (the registry's /v2/ asks for a login, 401);
- `tcp`: a connection (the NFS server's port 2049 on the storage network; this machine's
  containers cannot mount NFS, so a mount is not what is probed).

Each probe yields `gpucluster_probe_success{probe,target}` (1 or 0) and
`gpucluster_probe_duration_seconds`. The probes come from the collectors' settings (JSON,
`service_probes`), which the role derives from the inventory. Standard library only.
"""

from __future__ import annotations

import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from textfile import Gauges, run_collector  # beside this file on the node

OUTPUT_NAME = "gpucluster_probes.prom"
METRICS = {
    "gpucluster_probe_success": "1 when the service answered this node as its clients need.",
    "gpucluster_probe_duration_seconds": "How long the probe took.",
}
STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


class ProbeFailed(Exception):
    """The service did not answer as its clients need; the message says how."""


def _ber(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def _read_message(read: Callable[[int], bytes]) -> tuple[int, bytes]:
    """One LDAPMessage: (protocolOp tag, protocolOp content)."""

    def element() -> tuple[int, bytes]:
        header = read(2)
        tag, length = header[0], header[1]
        if length & 0x80:
            length = int.from_bytes(read(length & 0x7F), "big")
        return tag, read(length)

    tag, message = element()
    if tag != 0x30:
        raise ProbeFailed(f"not an LDAP message (tag {tag:#x})")
    # messageID (INTEGER), then the protocolOp.
    id_length = message[1]
    op = message[2 + id_length :]
    op_tag, op_length = op[0], op[1]
    start = 2
    if op_length & 0x80:
        start += op_length & 0x7F
    return op_tag, op[start:]


def _result_code(op_content: bytes) -> int:
    """An LDAPResult's resultCode: its first element, an ENUMERATED."""
    if op_content[:2] != b"\x0a\x01":
        raise ProbeFailed("malformed LDAP result")
    return op_content[2]


def _reader(connection: socket.socket) -> Callable[[int], bytes]:
    def read(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = connection.recv(count - len(data))
            if not chunk:
                raise ProbeFailed("the server closed the connection")
            data += chunk
        return data

    return read


def probe_ldap(host: str, port: int, context: ssl.SSLContext, timeout: float) -> None:
    with socket.create_connection((host, port), timeout=timeout) as plain:
        request = _ber(0x30, b"\x02\x01\x01" + _ber(0x77, _ber(0x80, STARTTLS_OID)))
        plain.sendall(request)
        tag, content = _read_message(_reader(plain))
        if tag != 0x78 or _result_code(content) != 0:
            raise ProbeFailed("StartTLS refused")
        with context.wrap_socket(plain, server_hostname=host) as tls:
            bind = _ber(0x60, b"\x02\x01\x03" + _ber(0x04, b"") + _ber(0x80, b""))
            tls.sendall(_ber(0x30, b"\x02\x01\x02" + bind))
            tag, content = _read_message(_reader(tls))
            if tag != 0x61:
                raise ProbeFailed(f"no bind response (tag {tag:#x})")
            if (code := _result_code(content)) != 0:
                raise ProbeFailed(f"bind over TLS answered result code {code}")


def probe_https(url: str, expect: int, context: ssl.SSLContext, timeout: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != expect:
        raise ProbeFailed(f"HTTP {status}, expected {expect}")


def probe_tcp(host: str, port: int, timeout: float) -> None:
    with socket.create_connection((host, port), timeout=timeout):
        pass


def run_probe(probe: dict, context: ssl.SSLContext, timeout: float) -> None:
    kind = probe["kind"]
    if kind == "ldap":
        probe_ldap(probe["host"], int(probe["port"]), context, timeout)
    elif kind == "https":
        probe_https(probe["url"], int(probe["expect"]), context, timeout)
    elif kind == "tcp":
        probe_tcp(probe["host"], int(probe["port"]), timeout)
    else:
        raise ProbeFailed(f"unknown probe kind {kind!r}")


def target_of(probe: dict) -> str:
    return probe.get("url") or f"{probe['host']}:{probe['port']}"


def render(probes: list[dict], ca_file: str, timeout: float) -> tuple[str, list[str]]:
    gauges = Gauges(METRICS)
    failures = []
    context = ssl.create_default_context(cafile=ca_file)
    for probe in probes:
        labels = {"probe": probe["name"], "target": target_of(probe)}
        started = time.monotonic()
        try:
            run_probe(probe, context, timeout)
            success = 1
        except (ProbeFailed, OSError, ValueError, IndexError) as error:
            success = 0
            failures.append(f"{probe['name']} {target_of(probe)}: {error}")
        gauges.add("gpucluster_probe_success", labels, success)
        gauges.add("gpucluster_probe_duration_seconds", labels, time.monotonic() - started)
    return gauges.text(), failures


def main(argv: list[str] | None = None) -> int:
    return run_collector(
        argv,
        __doc__,
        OUTPUT_NAME,
        lambda settings, args: render(
            settings.get("service_probes", []), settings["ca_file"], args.timeout
        ),
        lambda parser: parser.add_argument("--timeout", type=float, default=5.0),
    )


if __name__ == "__main__":
    sys.exit(main())
