"""HTTP for a client of the embedded AWS: one kept-alive socket a thread, and nothing else.

botocore sends through urllib3, whose pools, retries, proxy and TLS handling and header
parsing (http.client reads headers with the email package) cost about as much CPU as the rest
of a small call together: a GetItem from the pipeline took 0.39-0.45 ms of the client's CPU,
and 0.19-0.26 ms here. The embedded AWS is a plain HTTP/1.1 server on this machine, so a
client of it (`loopback.adapt`) writes each request on its thread's socket and reads the
answer by its Content-Length (or its chunks, or to the end). Anything else keeps botocore's
own session: a streamed answer, a streamed or chunked body, an https endpoint.

A socket the server closed while idle (a restarted engine, uvicorn's keep-alive timeout) is
replaced before the request goes. Errors are botocore's, so its retries and Leadflow's outage
handling (`store/outage.py`) see what they saw before: a refused connection is an
EndpointConnectionError, a connection lost mid-request a ConnectionClosedError, a silent
server a ReadTimeoutError.
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
    def __init__(self, host: str, port: int, connect_timeout: float, read_timeout: float):
        self.sock = socket.create_connection((host, port), timeout=connect_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(read_timeout)
        self.reader = self.sock.makefile("rb")

    def dropped(self) -> bool:
        """Whether the server closed the socket while it was idle (or sent something
        unasked, which leaves it unusable too)."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class LoopbackSession:
    """A botocore HTTP session (its `send`) for a plain-HTTP endpoint on this machine."""

    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback
        timeout = getattr(fallback, "_timeout", None)  # urllib3's Timeout, from the config
        self.connect_timeout = _seconds(getattr(timeout, "connect_timeout", None))
        self.read_timeout = _seconds(getattr(timeout, "read_timeout", None))
        self.local = threading.local()
        self.connections = 0
        """Sockets opened so far, on every thread."""

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
        )

    def exchange(self, request: Any) -> AWSResponse:
        """Send `request` on this thread's socket and read the answer."""
        url = urlsplit(request.url)
        body = request.body
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        connection = self._connection(url.hostname or "127.0.0.1", url.port or 80, request.url)
        try:
            connection.sock.sendall(_head(request, url, len(data)) + data)
            status, headers, content, keep = _answer(connection.reader, request.method)
        except TimeoutError as exc:
            self._drop(connection)
            raise ReadTimeoutError(endpoint_url=request.url, error=exc) from exc
        except (OSError, ValueError) as exc:
            self._drop(connection)
            raise ConnectionClosedError(endpoint_url=request.url) from exc
        if not keep:
            self._drop(connection)
        response = AWSResponse(request.url, status, headers, _Body(content))
        response.content  # noqa: B018 - read, as botocore's own session does
        return response

    def close(self) -> None:
        connection = getattr(self.local, "connection", None)
        if connection is not None:
            self._drop(connection)
        self.fallback.close()

    def _connection(self, host: str, port: int, endpoint: str) -> _Connection:
        connection: _Connection | None = getattr(self.local, "connection", None)
        if connection is not None and connection.dropped():
            self._drop(connection)
            connection = None
        if connection is None:
            try:
                connection = _Connection(host, port, self.connect_timeout, self.read_timeout)
            except TimeoutError as exc:
                raise ConnectTimeoutError(endpoint_url=endpoint, error=exc) from exc
            except OSError as exc:
                raise EndpointConnectionError(endpoint_url=endpoint, error=exc) from exc
            self.local.connection = connection
            self.connections += 1
        return connection

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self.local.connection = None


def _seconds(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else DEFAULT_TIMEOUT


def _head(request: Any, url: Any, length: int) -> bytes:
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    lines = [f"{request.method} {target} HTTP/1.1", f"Host: {url.netloc}"]
    for name, value in request.headers.items():
        if name.lower() not in ("host", "content-length"):
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            lines.append(f"{name}: {text}")
    if length or request.method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _answer(reader: Any, method: str) -> tuple[int, dict[str, str], bytes, bool]:
    """Status, headers, body, and whether the connection stays open."""
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
    code = int(status)
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if method == "HEAD" or code in _NO_BODY or 100 <= code < 200:
        return code, headers, b"", keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return code, headers, _chunks(reader), keep
    if "content-length" in headers:
        length = int(headers["content-length"])
        content = reader.read(length)
        if len(content) < length:
            raise ConnectionError("the server closed the connection in the body")
        return code, headers, content, keep
    return code, headers, reader.read(), False  # to the end, as HTTP/1.0 ends a body


def _chunks(reader: Any) -> bytes:
    parts = []
    while True:
        size_line = reader.readline()
        if not size_line:
            raise ConnectionError("the server closed the connection in a chunk")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while reader.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(reader.read(size))
        reader.readline()
