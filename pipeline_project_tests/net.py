"""Network helpers the tests share."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port nothing listens on right now (the probe socket is closed before it is returned)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
