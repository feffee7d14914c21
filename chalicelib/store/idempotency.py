"""Client idempotency keys: the first answer is kept for a day and replayed to a retry that
sends the same payload; the same key with another payload is refused (IETF draft: 422)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.errors import IdempotencyKeyReused
from chalicelib.store.models import IdempotencyModel

TTL = timedelta(hours=24)


def record(key: str, response: dict[str, Any], fingerprint: str | None, now: datetime):
    """The item that claims `key` (written with `claim_condition()` in the same transaction)."""
    return IdempotencyModel(
        key=key, response=response, fingerprint=fingerprint, created_at=now, expires_at=now + TTL
    )


def claim_condition():
    return IdempotencyModel.key.does_not_exist()


def first_answer(first: IdempotencyModel, fingerprint: str | None, field: str) -> dict[str, Any]:
    """The answer the key's first request got, unless this request's payload differs."""
    if first.fingerprint and fingerprint != first.fingerprint:
        raise IdempotencyKeyReused(
            "this key was already used with a different request; use a new key for a new request",
            field,
        )
    return first.response.as_dict()
