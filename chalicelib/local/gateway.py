"""The API as API Gateway serves it, on this machine: Chalice's local server, plus the
gateway response infra/ configures, so a path no route serves answers 404 JSON here as on
AWS (Chalice's server answers 403 "Missing Authentication Token", as a bare gateway would)."""

from __future__ import annotations

import json

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


class _Handler(ChaliceRequestHandler):
    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError) and b"Missing Authentication Token" in error.body:
            body = json.dumps(NO_ROUTE.body()).encode()
            self._send_http_response(404, {"Content-Type": "application/json"}, body)
            return
        super()._send_error_response(error)


def server(app: Chalice, host: str, port: int) -> LocalDevServer:
    """A server for `app` on host:port; call serve_forever() on it (and shutdown() to stop)."""
    if not isinstance(app, LocalChalice):  # what chalice.local.create_local_server does
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return LocalDevServer(app, Config.create(), host, port, handler_cls=_Handler)
