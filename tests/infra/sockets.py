"""What a node listens on, as testinfra reports it: shared by the tests of the roles whose
services must listen on one address only."""

from __future__ import annotations

from typing import Any


def listening_tcp(host: Any, port: int | None = None) -> list[str]:
    """The node's listening TCP sockets ('tcp://ADDRESS:PORT'), those on `port` if given."""
    sockets = (str(s) for s in host.socket.get_listening_sockets())
    return [s for s in sockets if s.startswith("tcp") and (port is None or s.endswith(f":{port}"))]
