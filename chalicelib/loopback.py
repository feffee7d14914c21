"""A client of the embedded AWS skips the per-request work only AWS itself needs.

The embedded AWS checks no signature: from the Authorization header it reads the access key
(which names the account) and the region, nothing else. And it has one endpoint, the one the
client was given. Yet each request was signed (SigV4: a canonical request, a hash of the body,
four HMACs), a tenth of the pipeline worker's CPU, and its endpoint worked out again from
AWS's endpoint rules, which for a transaction walk every item for its table names: a twelfth
of an import's CPU. A client of the embedded AWS (an endpoint on this machine and the credentials
the stack gives its processes) sends the header's credential scope as signing would write it
with `Signature=local`, and goes to its endpoint directly. Any other client (AWS itself, or
another emulator on this machine that may check signatures) is left as it is. Its requests
go over plain kept-alive sockets rather than urllib3 (`loopback_session.py`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import botocore

from chalicelib.loopback_session import LoopbackSession

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
ACCESS_KEY = "leadflow-local"  # what local/emulator.py gives the stack's processes
SCOPE_DATE = "20260101"  # read by nobody: the embedded AWS takes the key and region alone


def adapt(client: Any) -> Any:
    """Lighten `client` if it is a client of the embedded AWS; returns the client."""
    if urlsplit(client.meta.endpoint_url).hostname not in LOOPBACK:
        return client
    credentials = client._request_signer._credentials
    if credentials is None or credentials.get_frozen_credentials().access_key != ACCESS_KEY:
        return client
    client._ruleset_resolver = None  # botocore then sends to `meta.endpoint_url` as given
    endpoint, config = client._endpoint, client.meta.config
    if not isinstance(endpoint.http_session, LoopbackSession):
        endpoint.http_session = LoopbackSession(
            endpoint.http_session,
            config.connect_timeout,
            config.read_timeout,
            config.max_pool_connections,
        )
    key = ACCESS_KEY
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(
        f"choose-signer.{service}", _unsigned, unique_id="leadflow-loopback-signer"
    )
    client.meta.events.register(
        f"before-sign.{service}", _credential(key), unique_id="leadflow-loopback-credential"
    )
    return client


def _unsigned(**_: Any) -> Any:
    return botocore.UNSIGNED


def _credential(key: str) -> Any:
    def name(request: Any, region_name: str, signing_name: str, **_: Any) -> None:
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={key}/{SCOPE_DATE}/{region_name}/{signing_name}"
            "/aws4_request, SignedHeaders=host, Signature=local"
        )

    return name
