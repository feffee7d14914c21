"""Dates in the reader's own language and time zone: `{{ when | datetime }}` in a template.

The locale comes from the contact's `locale` field (zh_CN, de-DE, ...), the zone from its
`timezone` field; without them, English and UTC. Values may be datetimes, dates or ISO
strings (what contact fields and event properties hold).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from jinja2 import pass_context
from jinja2.runtime import Context

DEFAULT_LOCALE = "en"


def _reader(ctx: Context) -> tuple[str, ZoneInfo]:
    contact = ctx.get("contact") or {}
    raw_locale = str(contact.get("locale") or DEFAULT_LOCALE).replace("-", "_")
    try:
        locale = str(Locale.parse(raw_locale))
    except (ValueError, UnknownLocaleError):
        locale = DEFAULT_LOCALE
    try:
        zone = ZoneInfo(str(contact.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return locale, zone


def _as_datetime(value: Any) -> datetime | date:
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if len(text) == 10:
        return parsed.date()
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@pass_context
def format_datetime(ctx: Context, value: Any, format: str = "medium") -> str:
    """A moment in the reader's zone and language: 2026年12月10日 下午4:00 / Dec 10, 2026."""
    locale, zone = _reader(ctx)
    moment = _as_datetime(value)
    if not isinstance(moment, datetime):
        return babel_dates.format_date(moment, format=format, locale=locale)
    return babel_dates.format_datetime(moment, format=format, tzinfo=zone, locale=locale)


@pass_context
def format_date(ctx: Context, value: Any, format: str = "long") -> str:
    """A day in the reader's language (a moment is first moved into the reader's zone)."""
    locale, zone = _reader(ctx)
    moment = _as_datetime(value)
    day = moment.astimezone(zone).date() if isinstance(moment, datetime) else moment
    return babel_dates.format_date(day, format=format, locale=locale)


FILTERS = {"datetime": format_datetime, "date": format_date}
