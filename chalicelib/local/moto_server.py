"""moto's server on localhost: the embedded AWS of the local stack, the tests and the benches.

moto runs in a process of its own, as DynamoDB does not run in ours: in the same process it
would share the GIL (and one core) with the API, the pipeline and the queue workers. The
child installs moto_dynamodb's fixes before it serves, and exits when its parent does, so a
killed stack leaves no server holding the port.

    python -m chalicelib.local.moto_server --port 5000      # by hand, if ever needed
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "leadflow-local",
    "AWS_SECRET_ACCESS_KEY": "leadflow-local",
    "AWS_DEFAULT_REGION": "us-east-1",
}
READY_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """The child process serving moto; stop() ends it."""

    def __init__(self, process: subprocess.Popen[bytes], endpoint: str) -> None:
        self.process = process
        self.endpoint = endpoint

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait_until_up(endpoint: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto exited with status {process.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1) as response:
                response.read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"moto did not answer on {endpoint} within {READY_SECONDS:g} s")


def start(port: int | None = None) -> tuple[MotoServer, str]:
    """Start moto and point this process's AWS clients at it (no real credentials exist)."""
    port = port or free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "chalicelib.local.moto_server",
        "--port",
        str(port),
        "--parent",
        str(os.getpid()),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _wait_until_up(endpoint, process)
    for key, value in FAKE_CREDENTIALS.items():
        os.environ[key] = value
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    return MotoServer(process, endpoint), endpoint


def _quick_dispatch() -> None:
    """Remember which moto backend serves a host. moto works it out on every request, listing
    its package folder and trying a few hundred URL patterns: a tenth of its time here."""
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    find = DomainDispatcherApplication.get_backend_for_host
    known: dict[str | None, Any] = {}

    def get_backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
        if host not in known:
            known[host] = find(self, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def serve(port: int, parent: int | None) -> None:
    """Serve moto (fixed) until the parent process is gone."""
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import WSGIRequestHandler

    from chalicelib.local import moto_dynamodb

    moto_dynamodb.install()
    _quick_dispatch()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    WSGIRequestHandler.protocol_version = "HTTP/1.1"  # keep-alive: no connection per call
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stop = threading.Event()
    while not stop.wait(1.0):
        if parent is not None and os.getppid() != parent:
            break
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.port, args.parent)


if __name__ == "__main__":
    main()
