"""Identifiers: time-ordered event ids (so a timeline sorts by key) and derived contact ids.

Contact ids derive from the normalised identity (email, else phone), so two writers racing on
one new person compute the same id and meet on the same item instead of making two contacts.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NAMESPACE = uuid.UUID("8f4f0e8e-5c43-4bb2-9a3e-1f0b5d6c7a10")


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars))


def event_id(at: datetime, entropy: bytes | None = None) -> str:
    """A ULID: 48 bits of milliseconds then 80 bits of entropy, 26 sortable characters."""
    millis = int(at.timestamp() * 1000)
    rand = int.from_bytes(entropy[:10] if entropy else os.urandom(10), "big")
    return _base32(millis, 10) + _base32(rand, 16)


def derived_event_id(at: datetime, *parts: str) -> str:
    """A deterministic event id for an effect, so a re-run emits the same id and is refused."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return event_id(at, digest)


def lowest_event_id(at: datetime) -> str:
    """The smallest id at `at`: a bound for range queries over time-ordered ids."""
    return _base32(int(at.timestamp() * 1000), 10) + "0" * 16


def contact_id(kind: str, value: str) -> str:
    """The contact id a new person with this identity gets (kind is 'email' or 'phone')."""
    return "ct_" + uuid.uuid5(_NAMESPACE, f"{kind}:{value}").hex
