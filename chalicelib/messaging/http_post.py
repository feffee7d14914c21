"""POST to a checked target: connect to the address the SSRF check approved, never re-resolve.

TLS still verifies the certificate against the URL's host name. Redirects are not followed
(a redirect could point inside the network) and urllib3's own retries are off: the webhook
queue owns retrying, with its backoff and its record of every attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import urllib3

from chalicelib.messaging.ssrf import Target

TIMEOUT = urllib3.Timeout(connect=5.0, read=10.0)
MAX_ANSWER = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class Poster(Protocol):
    def post(self, target: Target, headers: dict[str, str], body: bytes) -> Answer: ...


class PinnedPoster:
    def post(self, target: Target, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(target.url)
        address = target.addresses[0]
        pool: urllib3.HTTPConnectionPool
        if parts.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address,
                target.port,
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED",
                timeout=TIMEOUT,
                retries=False,
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, target.port, timeout=TIMEOUT, retries=False)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        default_port = 443 if parts.scheme == "https" else 80
        host = target.host if target.port == default_port else f"{target.host}:{target.port}"
        with pool:
            answer = pool.urlopen(
                "POST",
                path,
                body=body,
                headers={**headers, "Host": host, "User-Agent": "Leadflow-Webhooks/1"},
                redirect=False,
                preload_content=False,
            )
            data = answer.read(MAX_ANSWER)
            answer.release_conn()
        return Answer(answer.status, data)
