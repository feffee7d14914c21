"""A client of the embedded AWS sends over kept-alive sockets of its own
(chalicelib/loopback_session.py): it reads every way a server may end an answer, shares a few
sockets among threads, never reads one request's answer as another's, replaces a socket the
server closed while idle, and fails with botocore's own errors, so that retries and the
outage handling work as they did over urllib3."""

from __future__ import annotations

import signal
import socket
import threading
import time
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


class Scripted:
    """A server on loopback that answers each request the way the next entry of `script`
    says, and counts the connections it accepted."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.accepted = 0
        self.answered = 0
        self.lock = threading.Lock()
        self.closed = threading.Event()  # set when the server has closed a connection
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
            while _read_request(reader):
                with self.lock:
                    if not self.script:
                        break
                    how = self.script.pop(0)
                    self.answered += 1
                    n = self.answered
                if how == "silent":
                    threading.Event().wait(5)
                    return
                if how == "drop":
                    return
                if how == "slow":
                    time.sleep(0.5)
                conn.sendall(_answer(how, n))
                if how in ("to-the-end", "then-close", "close-with-length"):
                    break
        self.closed.set()

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


def _answer(how: str, n: int) -> bytes:
    """An answer to ListTables naming one table, `leads-n` for the nth request."""
    body = b'{"TableNames": ["leads-%d"]}' % n
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
    if how == "interim":
        head = "HTTP/1.1 100 Continue\r\n\r\n" + head
    if how == "close-with-length":
        head += "Connection: close\r\n"
    if how == "chunked":
        half = len(body) // 2
        first, rest = body[:half], body[half:]
        chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(first), first, len(rest), rest)
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks
    if how == "to-the-end":
        return (head + "Connection: close\r\n\r\n").encode() + body
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


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


def test_a_client_of_the_embedded_aws_keeps_its_sockets(svc) -> None:
    client = tables.connection().client
    session = client._endpoint.http_session
    assert isinstance(session, LoopbackSession)
    before = session.connections
    ContactKeyModel(key="email:a@example.com", contact_id="ct_1", created_at=svc.clock.now()).save()
    for _ in range(20):
        assert ContactKeyModel.get("email:a@example.com").contact_id == "ct_1"
    assert session.connections - before <= 1


def test_answers_by_length_by_chunks_and_to_the_end_are_read_whole(server) -> None:
    script = ["length", "chunked", "interim", "close-with-length", "length", "to-the-end"]
    scripted = server([*script, "length"])
    client = _client(scripted.port)
    for n in range(1, 8):
        assert client.list_tables()["TableNames"] == [f"leads-{n}"]
    assert scripted.accepted == 3  # a new socket after each answer that closed its own


def test_threads_share_a_few_sockets(server) -> None:
    scripted = server(["length"] * 85)
    client = _client(scripted.port)
    names: list[str] = []

    def calls() -> None:
        for _ in range(10):
            names.extend(client.list_tables()["TableNames"])

    threads = [threading.Thread(target=calls) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(names) == sorted(f"leads-{n}" for n in range(1, 81))
    assert scripted.accepted <= 8
    later: list[str] = []
    for _ in range(5):  # a thread that comes and goes takes an idle socket
        thread = threading.Thread(target=lambda: later.extend(client.list_tables()["TableNames"]))
        thread.start()
        thread.join()
    assert sorted(later) == sorted(f"leads-{n}" for n in range(81, 86))
    assert scripted.accepted <= 8


def test_an_interrupted_exchange_leaves_no_answer_for_the_next(server) -> None:
    scripted = server(["slow", "length"])
    client = _client(scripted.port)

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(KeyboardInterrupt):
            client.list_tables()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # At once, while the first answer is still on its way on the socket the interruption left.
    assert client.list_tables()["TableNames"] == ["leads-2"]


def test_a_socket_the_server_closed_while_idle_is_replaced(server) -> None:
    scripted = server(["then-close", "length"])
    client = _client(scripted.port)
    assert client.list_tables()["TableNames"] == ["leads-1"]
    assert scripted.closed.wait(5)  # as uvicorn closes a socket idle for 75 s
    assert client.list_tables()["TableNames"] == ["leads-2"]
    assert scripted.accepted == 2
    session = client._endpoint.http_session
    session.close()
    assert session.idle == {}


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
