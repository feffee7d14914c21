"""Requests to the embedded AWS carry their credential and a placeholder signature.

The embedded AWS checks no signature: from the Authorization header it reads the access key
(which names the account) and the region, nothing else. Signing a request (SigV4: a canonical
request, a hash of the body and four HMACs) was a tenth of the pipeline worker's CPU. A client
whose endpoint is on this machine sends the header with its credential scope as signing would
write it, and `Signature=local`; a client pointed anywhere else signs as ever.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import botocore

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SCOPE_DATE = "20260101"  # read by nobody: the embedded AWS takes the key and region alone


def local(client: Any) -> Any:
    """Have `client` skip signing if its endpoint is on this machine; returns the client."""
    if urlsplit(client.meta.endpoint_url).hostname not in LOOPBACK:
        return client
    credentials = client._request_signer._credentials
    if credentials is None:
        return client  # nothing to name: the request goes as botocore would send it
    key = credentials.get_frozen_credentials().access_key
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(
        f"choose-signer.{service}", _unsigned, unique_id="leadflow-local-signer"
    )
    client.meta.events.register(
        f"before-sign.{service}", _credential(key), unique_id="leadflow-local-credential"
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
