"""Ports for the local servers, taken below Linux's ephemeral range (32768 and up).

A port the OS hands out (bind to 0) lies in the ephemeral range, where any outgoing
connection may take it between the check and the server's start, or while a stopped server
waits to start again on it (a restarted stack keeps its API port, so its emailed links work;
a restarted emulator keeps its endpoint). Below the range only another server can.
"""

from __future__ import annotations

import random
import socket

LOW, HIGH = 20000, 32000


def free(*offsets: int) -> int:
    """A port p with p + each offset free to listen on (p alone without offsets)."""
    while True:
        port = random.randrange(LOW, HIGH)
        if all(is_free(port + offset) for offset in offsets or (0,)):
            return port


def is_free(port: int) -> bool:
    """Free to listen on, as our servers do: SO_REUSEADDR, so connections closed by a server
    stopped a moment ago (TIME_WAIT) do not count as in use."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
