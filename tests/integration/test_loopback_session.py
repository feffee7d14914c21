"""A client of the embedded AWS sends over one kept-alive socket a thread
(chalicelib/loopback_session.py): it reads every way a server may end an answer, replaces a
socket the server closed while idle, and fails with botocore's own errors, so that retries
and the outage handling work as they did over urllib3."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib import loopback
from chalicelib.loopback_session import LoopbackSession
from chalicelib.store import tables
from chalicelib.store.models import ContactKeyModel

BODY = b'{"TableNames": ["leads"]}'


class Scripted:
    """A server on loopback that answers each request the way the next entry of `script`
    says, and counts the connections it accepted."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.accepted = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        with conn, reader:
            while self.script and _read_request(reader):
                how = self.script.pop(0)
                if how == "silent":
                    threading.Event().wait(5)
                    return
                if how == "drop":
                    return
                conn.sendall(_answer(how))
                if how in ("to-the-end", "then-close"):
                    return

    def close(self) -> None:
        self.listener.close()


def _read_request(reader: Any) -> bool:
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    if not line:
        return False
    reader.read(length)
    return True


def _answer(how: str) -> bytes:
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
    if how == "chunked":
        half = len(BODY) // 2
        chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
            half,
            BODY[:half],
            len(BODY) - half,
            BODY[half:],
        )
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks
    if how == "to-the-end":
        return (head + "Connection: close\r\n\r\n").encode() + BODY
    return (head + f"Content-Length: {len(BODY)}\r\n\r\n").encode() + BODY


@pytest.fixture
def server() -> Iterator[Any]:
    made: list[Scripted] = []

    def make(script: list[str]) -> Scripted:
        made.append(Scripted(script))
        return made[-1]

    yield make
    for s in made:
        s.close()


def _client(port: int, **config: Any) -> Any:
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=loopback.ACCESS_KEY,
        aws_secret_access_key="leadflow-local",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )
    return loopback.adapt(client)


def test_a_client_of_the_embedded_aws_keeps_one_socket_a_thread(svc) -> None:
    client = tables.connection().client
    session = client._endpoint.http_session
    assert isinstance(session, LoopbackSession)
    before = session.connections
    ContactKeyModel(key="email:a@example.com", contact_id="ct_1", created_at=svc.clock.now()).save()
    for _ in range(20):
        assert ContactKeyModel.get("email:a@example.com").contact_id == "ct_1"
    assert session.connections - before <= 1


def test_answers_by_length_by_chunks_and_to_the_end_are_read_whole(server) -> None:
    scripted = server(["length", "chunked", "length", "to-the-end", "length"])
    client = _client(scripted.port)
    for _ in range(5):
        assert client.list_tables()["TableNames"] == ["leads"]
    assert scripted.accepted == 2  # a new socket only after the answer read to the end


def test_a_socket_the_server_closed_while_idle_is_replaced(server) -> None:
    scripted = server(["then-close", "length"])
    client = _client(scripted.port)
    assert client.list_tables()["TableNames"] == ["leads"]
    assert client.list_tables()["TableNames"] == ["leads"]
    assert scripted.accepted == 2


def test_failures_are_botocores_errors(server) -> None:
    unused = socket.create_server(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()
    with pytest.raises(EndpointConnectionError):
        _client(port).list_tables()
    with pytest.raises(ConnectionClosedError):
        _client(server(["drop"]).port).list_tables()
    with pytest.raises(ReadTimeoutError):
        _client(server(["silent"]).port, read_timeout=0.3).list_tables()


def test_other_endpoints_keep_botocores_session() -> None:
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
    )
    assert not isinstance(loopback.adapt(client)._endpoint.http_session, LoopbackSession)
