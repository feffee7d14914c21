"""tests/unit: pure code, with in-memory fakes where it needs a store; no embedded AWS.

For every test in this folder, starting the emulator, sending a request to any AWS endpoint or
opening a network connection fails at once, naming the folder the test belongs in instead.
(Subprocesses a test starts are not watched.)
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest
from botocore.httpsession import URLLib3Session

from chalicelib.local import emulator
from chalicelib.loopback_session import LoopbackSession

ELSEWHERE = "it belongs in tests/integration (services, adapters) or tests/e2e (the app)"


class NotAUnitTest(RuntimeError):
    """A test in tests/unit reached for the embedded AWS or the network."""


def _refuse(what: str) -> NoReturn:
    raise NotAUnitTest(f"tests/unit {what}: {ELSEWHERE}")


@pytest.fixture(scope="session")
def aws() -> NoReturn:
    """Here in place of tests/conftest.py's: svc, client, pipeline, journeys... all fail."""
    _refuse("starts no embedded AWS, and this test asks for it")


@pytest.fixture(scope="package", autouse=True)
def no_aws_and_no_network() -> Iterator[None]:
    def start(*args: Any, **kwargs: Any) -> NoReturn:
        _refuse("starts no embedded AWS")

    def send(self: Any, request: Any) -> NoReturn:
        _refuse(f"sends no AWS request ({request.method} {request.url})")

    def guarded(original: Any) -> Any:
        def connect(self: socket.socket, address: Any) -> Any:
            if self.family in (socket.AF_INET, socket.AF_INET6):
                _refuse(f"opens no network connection (to {address!r})")
            return original(self, address)

        return connect

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(emulator, "start", start)
        patch.setattr(emulator.Emulator, "start", start)
        patch.setattr(URLLib3Session, "send", send)
        patch.setattr(LoopbackSession, "send", send)
        for name in ("connect", "connect_ex"):
            patch.setattr(socket.socket, name, guarded(getattr(socket.socket, name)))
        yield
