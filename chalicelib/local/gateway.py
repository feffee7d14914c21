"""The API as API Gateway serves it, on this machine: Chalice's local server, made to answer
as the gateway infra/ configures does.

- A path no route serves answers 404 JSON, as the gateway response in infra/ makes it on AWS
  (Chalice's server answers 403 "Missing Authentication Token", as a bare gateway would).
- Every HTTP method reaches the app: Python's base handler answers methods it has no `do_`
  for (TRACE, QUERY, ...) with a 501 page; routed through the app they get a 405 JSON answer.
- A chunked body (Transfer-Encoding: chunked) is read: Chalice reads only Content-Length, so
  the chunks stayed on the connection and the next request on it read "0" as its request line.
- Path parameters are decoded, as the gateway decodes them (a campaign named from a
  utm_campaign with a space or Chinese in it is one encoded segment of a dashboard link).
- Answers leave at once (TCP_NODELAY): the handler writes the headers and the body apart, and
  with Nagle's algorithm the body waited for the client's delayed ACK, 40 ms on every request
  of a kept-alive connection (the contract fuzz spent 80 of its 95 s waiting so).
"""

from __future__ import annotations

import json
import re
from contextlib import suppress
from typing import Any, BinaryIO
from urllib.parse import unquote

from chalice import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGatewayException,
)

from chalicelib.api.http import NO_ROUTE

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's limit
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")


class _BadChunks(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class _Handler(ChaliceRequestHandler):
    disable_nagle_algorithm = True

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError) and b"Missing Authentication Token" in error.body:
            body = json.dumps(NO_ROUTE.body()).encode()
            self._send_http_response(404, {"Content-Type": "application/json"}, body)
            return
        super()._send_error_response(error)

    def _parse_payload(self) -> tuple[dict[str, Any], bytes | None]:
        if "chunked" not in (self.headers.get("transfer-encoding") or "").lower():
            return super()._parse_payload()
        body = _read_chunks(self.rfile)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
        headers["Content-Length"] = str(len(body))
        return headers, body or None

    def _generic_handle(self) -> None:
        # http.server reads the request line as Latin-1; a client that sends UTF-8 unescaped
        # (curl '...?name=展会.csv') means UTF-8, as API Gateway reads it.
        with suppress(UnicodeEncodeError, UnicodeDecodeError):
            self.path = self.path.encode("latin-1").decode("utf-8")
        converter = self.local_gateway.event_converter
        if not isinstance(converter, _Decoded):  # once per connection, kept alive or not
            self.local_gateway.event_converter = _Decoded(converter)
        try:
            super()._generic_handle()
        except _BadChunks as exc:
            self.close_connection = True
            body = json.dumps({"error": exc.code, "message": str(exc)}).encode()
            self._send_http_response(exc.status, {"Content-Type": "application/json"}, body)

    # The base class binds its own _generic_handle to these names: rebind them to ours.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)


class _Decoded:
    """Path parameters decoded, as API Gateway hands them to the app: /campaigns/summer%20sale
    is the campaign "summer sale" (Chalice's server passed the segment as it came)."""

    def __init__(self, converter: Any) -> None:
        self.converter = converter

    def create_lambda_event(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        event = self.converter.create_lambda_event(*args, **kwargs)
        captured = event.get("pathParameters") or {}
        event["pathParameters"] = {k: unquote(v) for k, v in captured.items()} or captured
        return event


def _read_chunks(stream: BinaryIO) -> bytes:
    """RFC 9112 section 7.1: hex size lines, each chunk, a zero chunk, trailers, a blank line."""
    body = bytearray()
    while True:
        line = stream.readline(1024).split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(line):  # int(..., 16) would take -1, 0x5 or 1_0
            raise _BadChunks(400, "malformed_body", "a malformed chunk size")
        size = int(line, 16)
        if size == 0:
            break
        if len(body) + size > MAX_BODY_BYTES:
            raise _BadChunks(413, "payload_too_large", "the body is over 10 MiB")
        chunk = stream.read(size)
        if len(chunk) != size or stream.readline(8) != b"\r\n":
            raise _BadChunks(400, "malformed_body", "a chunk shorter than its size")
        body += chunk
    while stream.readline(1024).strip():  # trailers, up to the blank line
        pass
    return bytes(body)


def server(app: Chalice, host: str, port: int) -> LocalDevServer:
    """A server for `app` on host:port; call serve_forever() on it (and shutdown() to stop)."""
    if not isinstance(app, LocalChalice):  # what chalice.local.create_local_server does
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return LocalDevServer(app, Config.create(), host, port, handler_cls=_Handler)
