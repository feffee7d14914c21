"""Signing outbound webhooks per the Standard Webhooks spec (standardwebhooks.com).

Each delivery carries `webhook-id` (the same on every retry, so receivers can deduplicate),
`webhook-timestamp` (seconds; receivers refuse old ones, which stops replays) and
`webhook-signature`: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the
endpoint's secret (`whsec_` + base64 key). Any Standard Webhooks library verifies it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

PREFIX = "whsec_"


class BadSecret(ValueError):
    """A webhook secret that is not `whsec_` followed by base64."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except ValueError as exc:
        raise BadSecret("a webhook secret is whsec_ followed by base64") from exc


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three headers a signed delivery carries."""
    timestamp = int(at.timestamp())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
