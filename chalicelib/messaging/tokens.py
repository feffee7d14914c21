"""Signed tokens for links in emails: opens, clicks and unsubscribes.

A token is `payload.signature`, both base64url: the payload is a purpose and a few fields
joined by a unit separator; the signature is HMAC-SHA256 over purpose and payload with the
deployment's secret. Anyone can read a token, nobody can forge or alter one (not even by
spelling the same bytes another way), and a token made for one purpose (an open) is refused
for another (an unsubscribe).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_SEP = "\x1f"


class BadToken(ValueError):
    """A token that was altered, truncated, or made for another purpose."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Decode the one canonical spelling only: no padding, no stray characters, unused bits
    zero. The decoder alone accepts many spellings of the same bytes, so a link would stay
    valid however it was altered."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadToken("not a token") from exc
    if _b64(raw) != text:
        raise BadToken("not a token")
    return raw


def _key(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if key and len(key) < 16:
        raise ValueError("the signing secret must be at least 16 bytes")
    return key


class Signer:
    """Signs with the current secret; verifies with it or with the one before a rotation."""

    def __init__(self, secret: str | bytes, previous: str | bytes = b"") -> None:
        self._key = _key(secret)
        self._keys = [k for k in (self._key, _key(previous)) if k]

    def _mac(self, purpose: str, payload: str, key: bytes) -> bytes:
        if not key:
            raise RuntimeError(
                "LEADFLOW_SIGNING_SECRET is not set: links in emails cannot be signed"
            )
        message = f"{purpose}{_SEP}{payload}".encode()
        return hmac.new(key, message, hashlib.sha256).digest()[:16]

    def sign(self, purpose: str, *fields: str) -> str:
        payload = _b64(_SEP.join(fields).encode())
        return f"{payload}.{_b64(self._mac(purpose, payload, self._key))}"

    def verify(self, purpose: str, token: str) -> list[str]:
        """The fields of a genuine token for `purpose`; BadToken otherwise."""
        payload, dot, signature = token.partition(".")
        if not dot or not signature:
            raise BadToken("not a token")
        given = _unb64(signature)
        macs = [self._mac(purpose, payload, key) for key in self._keys or [self._key]]
        if not any(hmac.compare_digest(given, mac) for mac in macs):
            raise BadToken("the token's signature does not match")
        try:
            return _unb64(payload).decode().split(_SEP)
        except UnicodeDecodeError as exc:
            raise BadToken("not a token") from exc
