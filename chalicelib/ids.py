"""Identifiers: time-ordered event ids (so a timeline sorts by key) and derived contact ids.

Contact ids derive from the normalised identity (email, else phone), so two writers racing on
one new person compute the same id and meet on the same item instead of making two contacts.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NAMESPACE = uuid.UUID("8f4f0e8e-5c43-4bb2-9a3e-1f0b5d6c7a10")


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars))


_last = [0, 0]  # the millisecond and entropy of this process's last random id
_lock = threading.Lock()
_EFFECTS = 1 << 40  # a random id's last 40 bits are zero: room for the ids of its effects


def event_id(at: datetime, entropy: bytes | None = None) -> str:
    """A ULID: 48 bits of milliseconds then 80 bits of entropy, 26 sortable characters.

    A random id has 40 random bits and ends in 40 zero bits (eight zeros), which
    effect_event_id fills in for what the event leads to. Random ids are monotonic within a
    process (the ULID spec's option): a second id in the same millisecond steps past the last
    one and its effects, so what a process records keeps its order on the timeline.
    """
    millis = int(at.timestamp() * 1000)
    if entropy:
        return _base32(millis, 10) + _base32(int.from_bytes(entropy[:10], "big"), 16)
    with _lock:
        rand = int.from_bytes(os.urandom(5), "big") * _EFFECTS
        if millis == _last[0] and _last[1] < 2**80 - _EFFECTS:
            rand = _last[1] + _EFFECTS
        _last[:] = [millis, rand]
    return _base32(millis, 10) + _base32(rand, 16)


_stamps: OrderedDict[str, datetime] = OrderedDict()  # contact -> the last instant stamped
_STAMPS = 10_000
_MILLI = timedelta(milliseconds=1)
_DRIFT = timedelta(seconds=1)  # a clock set back further is a new run (a test's), not a tie


def timeline_instant(contact_id: str, at: datetime) -> datetime:
    """`at`, or a millisecond past the last instant this process stamped for the contact.

    Two enrollments of one contact that a tick runs in the same millisecond (always, under a
    test's fake clock) would otherwise get ids ordered by their digests, not by which ran
    first, and the timeline would show a stage change before the one it followed.
    """
    with _lock:
        last = _stamps.pop(contact_id, None)
        if last is not None and last - _DRIFT < at <= last:
            at = last + _MILLI
        _stamps[contact_id] = at
        if len(_stamps) > _STAMPS:
            _stamps.popitem(last=False)
    return at


def derived_event_id(at: datetime, *parts: str) -> str:
    """A deterministic event id for an effect, so a re-run emits the same id and is refused."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return event_id(at, digest)


def effect_event_id(cause_id: str, at: datetime, *parts: str, order: int = 0) -> str:
    """A deterministic id for an event a cause led to, sorting right after the cause.

    It keeps the cause's time and first 40 bits of entropy and ends in a digest of the parts,
    so the effects of one form post sort after it and before anything the process recorded
    later, even in the same millisecond. Ids that are not ULIDs fall back to `at`. Effects
    given an `order` (1 to 255) sort among themselves in that order.
    """
    digest = hashlib.sha256("\x1f".join((cause_id, *parts)).encode()).digest()
    value = int.from_bytes(digest[:5], "big")
    if order:
        value = (min(order, 255) << 32) | (value & 0xFFFFFFFF)
    suffix = _base32(value | 1, 8)  # never the cause's own id
    if len(cause_id) == 26 and all(c in _CROCKFORD for c in cause_id):
        return cause_id[:18] + suffix
    return event_id(at, digest)[:18] + suffix


def lowest_event_id(at: datetime) -> str:
    """The smallest id at `at`: a bound for range queries over time-ordered ids."""
    return _base32(int(at.timestamp() * 1000), 10) + "0" * 16


def contact_id(kind: str, value: str) -> str:
    """The contact id a new person with this identity gets (kind is 'email' or 'phone')."""
    return "ct_" + uuid.uuid5(_NAMESPACE, f"{kind}:{value}").hex
