"""Request limits on the public endpoints, kept in DynamoDB so every Lambda sees the same count.

A fixed window per (limit, subject): one conditional add per request, refused once the window
holds `max`, the item gone by TTL soon after its window. The subject (a client address, a
visitor id) is kept only as a keyed hash: a limit needs to tell callers apart, not to know
who they are.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib.conditions import durations
from chalicelib.errors import TooManyRequests
from chalicelib.leads.intake import Quota
from chalicelib.store.models import CounterModel

KEPT_AFTER = timedelta(minutes=5)  # a window's item outlives it a little (TTL is lazy anyway)


@dataclass(frozen=True)
class Limit:
    name: str  # what is limited: "form:whitepaper", "events"
    max: int
    per: timedelta


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # whole seconds until the window ends, when refused


class Limiter:
    def __init__(self, secret: str, exempt: tuple[str, ...] = ()) -> None:
        self._secret = secret.encode()
        self._exempt = frozenset(exempt)

    def key(self, limit: Limit, subject: str, now: datetime) -> tuple[str, datetime]:
        seconds = limit.per.total_seconds()
        window = math.floor(now.timestamp() / seconds)
        raw = subject.encode("utf-8", "surrogatepass")  # JSON allows lone surrogates
        digest = hmac.new(self._secret, raw, hashlib.sha256).hexdigest()[:24]
        ends = datetime.fromtimestamp((window + 1) * seconds, tz=now.tzinfo)
        return f"limit#{limit.name}#{digest}#{window}", ends

    def applies(self, address: str | None) -> bool:
        """Limits apply to requests from an address that is not exempt (a direct invocation
        has no address: not a public request)."""
        return bool(address) and address not in self._exempt

    def quota(
        self, limit: Limit, subject: str | None, now: datetime, address: str | None
    ) -> Quota | None:
        """The limit as a quota for a write to count in its own transaction (one call for
        both); None when the request is not limited."""
        if not subject or not self.applies(address):
            return None
        key, ends = self.key(limit, subject, now)
        return Quota(key, limit.max, ends + KEPT_AFTER, refusal(limit, ends, now))

    def take(self, limit: Limit, subject: str, now: datetime) -> Verdict:
        """Count one request of `subject`; refuse it (counting nothing) past the limit."""
        key, ends = self.key(limit, subject, now)
        try:
            CounterModel(key).update(**count_action(Quota(key, limit.max, ends + KEPT_AFTER, None)))
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            return Verdict(False, retry_after(ends, now))
        return Verdict(True)

    def enforce(
        self, limit: Limit, subject: str | None, now: datetime, address: str | None
    ) -> None:
        """`take`, raising 429's error when refused (see `applies`)."""
        if not subject or not self.applies(address):
            return
        verdict = self.take(limit, subject, now)
        if not verdict.allowed:
            raise refusal(limit, now + timedelta(seconds=verdict.retry_after), now)


def retry_after(ends: datetime, now: datetime) -> int:
    return max(1, math.ceil((ends - now).total_seconds()))


def refusal(limit: Limit, ends: datetime, now: datetime) -> TooManyRequests:
    wait = retry_after(ends, now)
    allowed = f"{limit.max} per {durations.describe(limit.per)} allowed"
    return TooManyRequests(f"too many requests ({allowed}); try again in {wait} s", wait)


def count_action(quota: Quota) -> dict:
    """The counter's update, for a transaction: add one unless the window is full."""
    return {
        "actions": [CounterModel.value.add(1), CounterModel.expires_at.set(quota.expires_at)],
        "condition": CounterModel.value.does_not_exist() | (CounterModel.value < quota.max),
    }
