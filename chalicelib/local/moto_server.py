"""moto's server on localhost: the embedded AWS of the local stack and the test suite."""

from __future__ import annotations

import os
import socket

from moto.server import ThreadedMotoServer

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "leadflow-local",
    "AWS_SECRET_ACCESS_KEY": "leadflow-local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(port: int | None = None) -> tuple[ThreadedMotoServer, str]:
    """Start moto and point this process's AWS clients at it (no real credentials exist)."""
    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in FAKE_CREDENTIALS.items():
        os.environ[key] = value
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    return server, endpoint
