"""A port of 127.0.0.1 that nothing listens on, for tests of an unreachable server."""

from __future__ import annotations

import socket


def closed_port() -> int:
    """A port the system just handed out and took back: bound on 127.0.0.1, never listened
    on, closed. A connection to it is refused (unless something else takes it meanwhile,
    which the system's choice of a free port makes unlikely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
