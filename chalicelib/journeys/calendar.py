"""When a contact may be mailed and when a wait ends, in the contact's own time zone.

Pure functions of UTC instants and zones: quiet hours that wrap midnight, allowed weekdays,
the next Tuesday at 10:00, and a yearly date such as a birthday (29 February falls back to
28 February in common years).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.conditions.language import Weekday
from chalicelib.journeys.language import QuietHours

_SEARCH_DAYS = 9


def _local(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone)


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def in_quiet_hours(local: time, quiet: QuietHours) -> bool:
    if quiet.start <= quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def next_send_window(
    at: datetime,
    zone: ZoneInfo,
    quiet: QuietHours | None,
    days: Iterable[Weekday] | None,
) -> datetime:
    """`at` itself if a marketing send may go then, else the first instant after it that may."""
    allowed = {d.number for d in days} if days else set(range(7))
    candidate = at
    for _ in range(_SEARCH_DAYS * 2):
        local = _local(candidate, zone)
        if local.weekday() not in allowed:
            candidate = _instant(local.date() + timedelta(days=1), time(0, 0), zone)
            continue
        if quiet is not None and in_quiet_hours(local.time().replace(tzinfo=None), quiet):
            end_day = local.date()
            if quiet.start > quiet.end and local.time() >= quiet.start:
                end_day += timedelta(days=1)
            candidate = _instant(end_day, quiet.end, zone)
            continue
        return candidate
    raise ValueError("no send window within nine days: check quiet_hours and send_days")


def next_weekday_at(
    after: datetime, zone: ZoneInfo, weekdays: Iterable[Weekday], at: time
) -> datetime:
    """The first instant strictly after `after` that is one of `weekdays` at `at` local time."""
    wanted = {d.number for d in weekdays}
    local = _local(after, zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() in wanted:
            instant = _instant(day, at, zone)
            if instant > after:
                return instant
    raise AssertionError("a weekday recurs within eight days")


def parse_date(value: object) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) from 1990-03-14, 03-14 or a date; None if unreadable."""
    if isinstance(value, date):
        return value.year, value.month, value.day
    if not isinstance(value, str):
        return None
    parts = value.strip().split("-")
    try:
        if len(parts) == 3:
            d = date(int(parts[0]), int(parts[1]), int(parts[2]))
            return d.year, d.month, d.day
        if len(parts) == 2:
            date(2000, int(parts[0]), int(parts[1]))
            return None, int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return None


def _on(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, month, day - 1)  # 29 February in a common year


def next_date_at(
    after: datetime, zone: ZoneInfo, value: object, at: time, yearly: bool
) -> datetime | None:
    """When a date field comes round: the next anniversary (yearly) or the date itself.

    Yearly dates return the first anniversary strictly after `after` (today's, if its time has
    not come yet), so the step after a birthday email cannot fire twice in one run. None if
    the field does not hold a date, or a one-off date has passed.
    """
    parsed = parse_date(value)
    if parsed is None:
        return None
    year, month, day = parsed
    local_today = _local(after, zone).date()
    if not yearly:
        if year is None:
            return None
        instant = _instant(date(year, month, day), at, zone)
        return instant if instant >= after - timedelta(days=1) else None
    for y in (local_today.year, local_today.year + 1, local_today.year + 2):
        instant = _instant(_on(y, month, day), at, zone)
        if instant > after:
            return instant
    raise AssertionError("an anniversary recurs within two years")
