"""HTTP for a client of the embedded AWS: kept-alive sockets, and nothing else.

botocore sends through urllib3, whose pools, retries, proxy and TLS handling and header
parsing (http.client reads headers with the email package) cost about as much CPU as the rest
of a small call together: a GetItem from the pipeline took 0.39-0.45 ms of the client's CPU,
and 0.18-0.23 ms here. The embedded AWS is a plain HTTP/1.1 server on this machine, so a
client of it (`loopback.adapt`) writes each request on an idle socket of its own and reads
the answer by its Content-Length (or its chunks, or to the end). Anything else keeps
botocore's own session: a streamed answer, a streamed or chunked body, an https endpoint.

A socket is taken from the session's idle ones for one exchange and given back only after a
whole answer, so threads share a few sockets (the local API serves each connection on a
thread of its own) and an exchange cut short (an error, an interruption) never leaves an
answer behind for the next. A socket the server closed while idle (a restarted engine,
uvicorn's keep-alive timeout) is replaced before the request goes. Errors are botocore's, so
its retries and Leadflow's outage handling (`store/outage.py`) see what they saw before: a
refused connection is an EndpointConnectionError, a connection lost mid-request a
ConnectionClosedError, a silent server a ReadTimeoutError.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSResponse
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

DEFAULT_TIMEOUT = 60.0
IDLE_KEPT = 10
"""Idle sockets a session keeps for each endpoint unless told (botocore's
max_pool_connections); more are closed as they come back."""
_NO_BODY = frozenset({204, 304})


class _Body:
    """The answer's bytes, read already, as botocore reads a raw body."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()

    def read(self, *_: Any, **__: Any) -> bytes:
        data, self.data = self.data, b""
        return data

    def close(self) -> None:
        self.data = b""


class _Connection:
    def __init__(self, address: tuple[str, int], connect_timeout: float, read_timeout: float):
        self.sock = socket.create_connection(address, timeout=connect_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(read_timeout)
        self.reader = self.sock.makefile("rb")

    def dropped(self) -> bool:
        """Whether the server closed the socket while it was idle (or sent something
        unasked, which leaves it unusable too): anything to read now says so. (poll, not
        select, which fails past descriptor 1023.)"""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(0))

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class LoopbackSession:
    """A botocore HTTP session (its `send`) for a plain-HTTP endpoint on this machine."""

    def __init__(
        self,
        fallback: Any,
        connect_timeout: float = DEFAULT_TIMEOUT,
        read_timeout: float = DEFAULT_TIMEOUT,
        idle_kept: int = IDLE_KEPT,
    ) -> None:
        self.fallback = fallback
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.idle_kept = idle_kept
        self.idle: dict[tuple[str, int], list[_Connection]] = {}
        self.lock = threading.Lock()
        self.connections = 0  # sockets opened so far

    def send(self, request: Any) -> AWSResponse:
        if self._handles(request):
            return self.exchange(request)
        return self.fallback.send(request)

    @staticmethod
    def _handles(request: Any) -> bool:
        return (
            request.url.startswith("http://")
            and not request.stream_output
            and isinstance(request.body, bytes | bytearray | str | None)
            and "chunked" not in str(request.headers.get("Transfer-Encoding", "")).lower()
            and "Expect" not in request.headers
        )

    def exchange(self, request: Any) -> AWSResponse:
        """Send `request` on an idle socket and read the answer."""
        url = urlsplit(request.url)
        address = (url.hostname or "127.0.0.1", url.port or 80)
        body = request.body
        # botocore's bodies are bytes, but for the query protocol's form, ASCII text.
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        head = _head(request, address, url, len(data))
        connection = self._take(address, request.url)
        try:
            connection.sock.sendall(head + data)
            status, headers, content, keep = _answer(connection.reader, request.method)
        except TimeoutError as exc:
            connection.close()
            raise ReadTimeoutError(endpoint_url=request.url, error=exc) from exc
        except (OSError, ValueError) as exc:
            connection.close()
            raise ConnectionClosedError(
                endpoint_url=request.url, request=request, error=exc
            ) from exc
        except BaseException:  # an interruption: its answer must not be read as the next one's
            connection.close()
            raise
        if keep:
            self._give_back(address, connection)
        else:
            connection.close()
        response = AWSResponse(request.url, status, headers, _Body(content))
        response.content  # noqa: B018 - read, as botocore's own session does
        return response

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()
        self.fallback.close()

    def _take(self, address: tuple[str, int], endpoint: str) -> _Connection:
        while True:
            with self.lock:
                kept = self.idle.get(address)
                connection = kept.pop() if kept else None
            if connection is None:
                break
            if not connection.dropped():
                return connection
            connection.close()
        try:
            connection = _Connection(address, self.connect_timeout, self.read_timeout)
        except TimeoutError as exc:
            raise ConnectTimeoutError(endpoint_url=endpoint, error=exc) from exc
        except OSError as exc:
            raise EndpointConnectionError(endpoint_url=endpoint, error=exc) from exc
        with self.lock:
            self.connections += 1
        return connection

    def _give_back(self, address: tuple[str, int], connection: _Connection) -> None:
        with self.lock:
            kept = self.idle.setdefault(address, [])
            if len(kept) < self.idle_kept:
                kept.append(connection)
                return
        connection.close()


def _head(request: Any, address: tuple[str, int], url: Any, length: int) -> bytes:
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    lines = [f"{request.method} {target} HTTP/1.1", f"Host: {address[0]}:{address[1]}"]
    for name, value in request.headers.items():
        if name.lower() not in ("host", "content-length"):
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            if "\r" in text or "\n" in text:  # as http.client refuses it
                raise ValueError(f"Invalid header value {text!r}")
            lines.append(f"{name}: {text}")
    if length or request.method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _answer(reader: Any, method: str) -> tuple[int, dict[str, str], bytes, bool]:
    """Status, headers, body, and whether the connection stays open."""
    version, code, headers = _status_and_headers(reader)
    while 100 <= code < 200:  # an interim answer: the final one follows
        version, code, headers = _status_and_headers(reader)
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    keep = version == "HTTP/1.1" and "close" not in tokens
    if method == "HEAD" or code in _NO_BODY:
        return code, headers, b"", keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return code, headers, _chunks(reader), keep
    if "content-length" in headers:
        content = _exactly(reader, _size(headers["content-length"], 10))
        return code, headers, content, keep
    return code, headers, reader.read(), False  # to the end, as HTTP/1.0 ends a body


def _status_and_headers(reader: Any) -> tuple[str, int, dict[str, str]]:
    status_line = reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    version, status, _ = (status_line.decode("latin-1").rstrip("\r\n") + " ").split(" ", 2)
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b"\n"):
        if not line:
            raise ConnectionError("the server closed the connection in the headers")
        name, _, value = line.decode("latin-1").partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return version, int(status), headers


def _size(text: str | bytes, base: int) -> int:
    size = int(text, base)
    if size < 0:
        raise ValueError(f"a negative length: {text!r}")
    return size


def _exactly(reader: Any, size: int) -> bytes:
    content = reader.read(size)
    if len(content) < size:
        raise ConnectionError("the server closed the connection in the body")
    return content


def _chunks(reader: Any) -> bytes:
    parts = []
    while size := _size(reader.readline().split(b";", 1)[0].strip(), 16):
        parts.append(_exactly(reader, size))
        reader.readline()
    while reader.readline() not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return b"".join(parts)
