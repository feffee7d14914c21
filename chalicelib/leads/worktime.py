"""SLA deadlines in working time: two business hours from Friday 17:00 is Monday 10:00."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.leads.routing import BusinessHours

_MAX_DAYS = 370


def deadline(start: datetime, allowed: timedelta, hours: BusinessHours | None) -> datetime:
    """The instant `allowed` of working time after `start` (plain time without hours)."""
    if hours is None:
        return start + allowed
    zone = ZoneInfo(hours.timezone)
    days = {d.number for d in hours.days}
    left = allowed
    local = start.astimezone(zone)
    for _ in range(_MAX_DAYS):
        day = local.date()
        opens = datetime.combine(day, hours.start, tzinfo=zone)
        closes = datetime.combine(day, hours.end, tzinfo=zone)
        if day.weekday() in days and local < closes:
            begin = max(local, opens)
            if begin + left <= closes:
                return (begin + left).astimezone(UTC)
            left -= closes - begin
        local = datetime.combine(day + timedelta(days=1), hours.start, tzinfo=zone)
    raise ValueError("business hours never open")
