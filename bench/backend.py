"""The backend the bench measures against: a moto server, with fresh tables on demand.

By default moto runs in a process of its own (moto_server.start, as everywhere): a moto thread
would take the GIL from the handler.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from chalicelib import bootstrap
from chalicelib.content import publisher
from chalicelib.content.catalog import Catalog
from chalicelib.local import moto_dynamodb, moto_server
from chalicelib.store import tables

READY_SECONDS = 20.0


@contextmanager
def moto_process() -> Iterator[str]:
    """moto in a child process (as the tests and `make run` have it); clients point at it."""
    server, endpoint = moto_server.start()
    try:
        yield endpoint
    finally:
        server.stop()


@contextmanager
def moto_thread() -> Iterator[str]:
    """moto inside this process: shows what sharing the GIL with it costs."""
    from moto.server import ThreadedMotoServer

    moto_dynamodb.install()
    port = moto_server.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(moto_server.FAKE_CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
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
