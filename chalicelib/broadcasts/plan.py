"""Deciding a broadcast, one contact at a time: which variant, when, or why not at all.

Pure functions of the broadcast, the contact and the clock, so a preview, a retried job and
a second run all decide the same: the variant comes from a hash of the broadcast and the
contact, the time from the contact's zone, quiet hours and send days.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.broadcasts.language import Broadcast
from chalicelib.conditions import durations
from chalicelib.journeys import calendar
from chalicelib.journeys.engine import contact_zone
from chalicelib.journeys.language import FrequencyCap

MAIN = "main"  # the one variant of a broadcast without a test
WINNER = "winner"  # the rest of a tested audience: whichever variant wins
# The earliest zone in use (UTC+14): a local-time broadcast starts when it reaches send_at.
EARLIEST_OFFSET = timedelta(hours=14)
_BUCKETS = 10_000


@dataclass(frozen=True)
class Send:
    variant: str
    at: datetime
    zone: str
    # Why `at` is later than the broadcast's own time (quiet hours, a send day), or "".
    delayed: str = ""


@dataclass(frozen=True)
class Skip:
    reason: str
    detail: str


def _instant(naive: datetime, zone: ZoneInfo) -> datetime:
    return naive.replace(tzinfo=zone).astimezone(UTC)


def send_time(broadcast: Broadcast) -> datetime:
    """The broadcast's own send instant (for local time: when its earliest zone gets there)."""
    if broadcast.local_time:
        return broadcast.send_at.replace(tzinfo=UTC) - EARLIEST_OFFSET
    if broadcast.send_at.tzinfo is not None:
        return broadcast.send_at.astimezone(UTC)
    return _instant(broadcast.send_at, broadcast.zone)


def winner_time(broadcast: Broadcast) -> datetime | None:
    """When the test is judged and the winner goes to the rest: `wait` after the test could
    first go in the broadcast's zone (its quiet hours and send days hold the test too, so the
    verdict never comes before the test was sent); None without a test."""
    if broadcast.ab_test is None:
        return None
    zone, quiet, days = broadcast.zone, broadcast.quiet_hours, broadcast.send_days
    test = calendar.next_send_window(send_time(broadcast), zone, quiet, days)
    return test + broadcast.ab_test.wait


def _bucket(broadcast_id: str, contact_id: str, salt: str) -> int:
    digest = hashlib.sha256(f"{broadcast_id}|{contact_id}|{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _BUCKETS


def variant(broadcast: Broadcast, contact_id: str) -> str:
    """The contact's arm: a test variant for `share` % of the audience, else the winner."""
    test = broadcast.ab_test
    if test is None:
        return MAIN
    if _bucket(broadcast.id, contact_id, "share") >= test.share * _BUCKETS // 100:
        return WINNER
    arms = test.variants
    return arms[_bucket(broadcast.id, contact_id, "arm") % len(arms)].id


def capped(history: Sequence[datetime], at: datetime, cap: FrequencyCap | None) -> bool:
    """Whether a send at `at` would pass the cap, given the contact's earlier sends."""
    if cap is None:
        return False
    return sum(1 for t in history if at - cap.per < t <= at) >= cap.max


def decide(
    broadcast: Broadcast,
    contact: Mapping[str, Any],
    history: Sequence[datetime] = (),
) -> Send | Skip:
    """When this contact gets which variant, or why they do not (the eligibility of the
    address and consent is the sender's rule, applied by the caller)."""
    segments = set(contact.get("segments") or ())
    excluded = sorted(segments & set(broadcast.audience.exclude))
    if excluded:
        return Skip("excluded", f"in the excluded segment {excluded[0]}")
    zone_name = contact_zone(contact, broadcast.timezone)
    zone = ZoneInfo(zone_name)
    arm = variant(broadcast, str(contact["id"]))
    if broadcast.local_time:
        base = _instant(broadcast.send_at.replace(tzinfo=None), zone)
    else:
        base = winner_time(broadcast) if arm == WINNER else send_time(broadcast)
    assert base is not None
    at = calendar.next_send_window(base, zone, broadcast.quiet_hours, broadcast.send_days)
    cap = broadcast.frequency_cap
    if capped(history, at, cap):
        assert cap is not None
        per = durations.describe(cap.per)
        return Skip("frequency_cap", f"frequency cap: {cap.max} marketing email(s) per {per}")
    delayed = ""
    if at > base:
        delayed = f"outside the send window in {zone_name} (quiet hours or send days)"
    return Send(arm, at, zone_name, delayed)


@dataclass(frozen=True)
class Arm:
    """What one variant did in the test: emails sent and people who opened or clicked."""

    id: str
    sent: int
    opened: int
    clicked: int

    def rate(self, metric: str) -> float:
        hits = self.opened if metric == "unique_opens" else self.clicked
        return hits / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class Verdict:
    winner: str
    reason: str


def judge(broadcast: Broadcast, arms: Mapping[str, Arm]) -> Verdict:
    """The variant with the best rate on the test's metric among those that were sent; a tie
    goes to the one listed first, so the same numbers always pick the same winner."""
    test = broadcast.ab_test
    assert test is not None
    order = [v.id for v in test.variants]
    stats = [arms.get(i) or Arm(i, 0, 0, 0) for i in order]
    measured = [a for a in stats if a.sent] or stats
    best = max(measured, key=lambda a: (a.rate(test.metric), -order.index(a.id)))
    what = "open" if test.metric == "unique_opens" else "click"
    table = ", ".join(f"{a.id} {a.rate(test.metric):.1%} of {a.sent}" for a in stats)
    tied = [a.id for a in measured if a.rate(test.metric) == best.rate(test.metric)]
    tie = (
        f"; tied with {', '.join(t for t in tied if t != best.id)}, first listed wins"
        if len(tied) > 1
        else ""
    )
    return Verdict(best.id, f"unique {what} rate: {table}{tie}")
