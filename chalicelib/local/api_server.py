"""The local API server: Chalice's development server, made to read requests as API Gateway
does.

- Every HTTP method reaches the app: Python's base handler answers methods it has no `do_` for
  (TRACE, QUERY, ...) with a 501 page; routed through the app, they get a 405 JSON answer.
- A chunked body (Transfer-Encoding: chunked) is read: Chalice reads only Content-Length, so
  the chunks stayed on the connection and the next request on it read "0" as its request line.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, CustomLocalChalice, LocalChalice, LocalDevServer

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's limit


class RequestHandler(ChaliceRequestHandler):
    def _parse_payload(self) -> tuple[dict[str, Any], bytes | None]:
        if "chunked" not in (self.headers.get("transfer-encoding") or "").lower():
            return super()._parse_payload()
        body = _read_chunks(self.rfile)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
        headers["Content-Length"] = str(len(body))
        return headers, body or None

    def _generic_handle(self) -> None:
        try:
            super()._generic_handle()
        except _BadChunks as exc:
            self.close_connection = True
            body = json.dumps({"error": exc.code, "message": str(exc)}).encode()
            self.send_response(exc.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)


class _BadChunks(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _read_chunks(stream: BinaryIO) -> bytes:
    """RFC 9112 section 7.1: hex size lines, each chunk, a zero chunk, trailers, a blank line."""
    body = bytearray()
    while True:
        line = stream.readline(1024).split(b";", 1)[0].strip()
        try:
            size = int(line or b"0", 16)
        except ValueError:
            raise _BadChunks(400, "malformed_body", "a malformed chunk size") from None
        if size == 0:
            break
        if len(body) + size > MAX_BODY_BYTES:
            raise _BadChunks(413, "payload_too_large", "the body is over 10 MiB")
        body += stream.read(size)
        stream.readline(8)  # the CRLF after the chunk
    while stream.readline(1024).strip():  # trailers, up to the blank line
        pass
    return bytes(body)


def create(app: Chalice, config: Config, port: int) -> LocalDevServer:
    """What chalice.local.create_local_server does, with our handler."""
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, "127.0.0.1", port, handler_cls=RequestHandler)
