"""The days a report covers: from and to (both included), the same length before it for
trends. Pure; a bad date names its parameter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
EARLIEST = date(2000, 1, 1)  # and the period before it stays a date
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class PeriodError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def before(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def as_dict(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}

    @classmethod
    def of(cls, start: str | None, end: str | None, today: date) -> Period:
        """`from` and `to` as ISO dates; by default the 30 days ending today."""
        last = _day("to", end) if end is not None else today
        first = (
            _day("from", start) if start is not None else last - timedelta(days=DEFAULT_DAYS - 1)
        )
        if first < EARLIEST:
            raise PeriodError("from", f"must be {EARLIEST} or later")
        if first > last:
            raise PeriodError("from", "must not be after to")
        if (last - first).days + 1 > MAX_DAYS:
            raise PeriodError("from", f"a report covers at most {MAX_DAYS} days")
        return cls(first, last)


def _day(field: str, text: str) -> date:
    if not _DATE.fullmatch(text):
        raise PeriodError(field, "must be a date like 2026-11-30")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise PeriodError(field, "must be a date like 2026-11-30") from exc
