"""The backend the bench measures against: a moto server, with fresh tables on demand.

By default moto runs in a process of its own, as DynamoDB does not run in ours: a moto thread
would take the GIL from the handler, and the garbage moto makes (each TransactWriteItems
deep-copies every table it touches) would set off full collections in the handler's process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from chalicelib import bootstrap
from chalicelib.content import publisher
from chalicelib.content.catalog import Catalog
from chalicelib.local import moto_server
from chalicelib.store import tables

READY_SECONDS = 20.0


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
    raise RuntimeError(f"moto did not answer on {endpoint} within {READY_SECONDS:g} s")


@contextmanager
def moto_process() -> Iterator[str]:
    """moto in a child process; this process's AWS clients point at it, as with start()."""
    port = moto_server.free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_up(endpoint, process)
        os.environ.update(moto_server.FAKE_CREDENTIALS)
        os.environ.pop("AWS_PROFILE", None)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def moto_thread() -> Iterator[str]:
    """moto inside this process, as the test suite and `make run` have it."""
    server, endpoint = moto_server.start()
    try:
        yield endpoint
    finally:
        server.stop()


@dataclass
class Backend:
    """Fresh tables with the marketing/ forms published, whenever a batch asks for them."""

    endpoint: str
    services: bootstrap.Services
    content: Catalog

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request) as response:
            response.read()
        tables.create_all()
        publisher.publish(self.content, self.services.content)
