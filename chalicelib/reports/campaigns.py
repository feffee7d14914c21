"""Campaigns (marketing/campaigns.yaml): what a marketer spends, under which UTM keys, so that
reports can set attributed revenue against cost. Pure.

A campaign owns the `utm_campaign` values its links carry (its id when it names none); leads,
stages and deals are counted under the value a contact arrived with, and a report sums the
counters of a campaign's keys, so editing this file re-maps history without recounting.
Spend is entered per month, per day or per date range and spread evenly over its days, so
a report for any period gets the part of each spend that falls in it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from chalicelib.conditions.language import Strict

ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Amount = Annotated[Decimal, Field(ge=0, lt=Decimal(10) ** 12, max_digits=16, decimal_places=4)]


def days_of(period: str) -> tuple[date, date]:
    """The first and last day of `2026-11`, `2026-11-03` or `2026-11-01/2026-11-15`."""
    if m := _MONTH.match(period):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"{period!r} names no month")
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    parts = period.split("/")
    if len(parts) in (1, 2) and all(_DAY.match(p) for p in parts):
        try:
            first, last = date.fromisoformat(parts[0]), date.fromisoformat(parts[-1])
        except ValueError as exc:
            raise ValueError(f"{period!r} names no day") from exc
        if last < first:
            raise ValueError(f"{period!r} ends before it starts")
        return first, last
    raise ValueError(
        f"{period!r} is not a month (2026-11), a day (2026-11-03)"
        " or a range of days (2026-11-01/2026-11-15)"
    )


class Spend(Strict):
    period: str
    amount: Amount
    note: str | None = None

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value: object) -> str:
        text = value.isoformat() if isinstance(value, date) else str(value)
        days_of(text)
        return text

    def within(self, first: date, last: date) -> Decimal:
        """The part of this spend that falls between two days, both included."""
        start, end = days_of(self.period)
        overlap = (min(end, last) - max(start, first)).days + 1
        if overlap <= 0:
            return Decimal(0)
        return self.amount * overlap / ((end - start).days + 1)


class Campaign(Strict):
    id: Annotated[str, Field(pattern=ID)]
    name: str | None = None
    channel: str | None = None
    utm_campaign: list[str] = Field(default_factory=list)
    budget: Amount | None = None
    spend: list[Spend] = Field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        """The utm_campaign values counted as this campaign, as counters store them."""
        return [k.strip().lower() for k in (self.utm_campaign or [self.id])]

    @property
    def title(self) -> str:
        return self.name or self.id

    def spent(self, first: date, last: date) -> Decimal:
        return sum((s.within(first, last) for s in self.spend), Decimal(0))


class CampaignBook(Strict):
    """marketing/campaigns.yaml."""

    id: str = "campaigns"
    currency: Currency = "USD"
    # What one unit of another currency is worth in `currency`, for deals closed in it.
    exchange_rates: dict[Currency, Annotated[Decimal, Field(gt=0)]] = Field(default_factory=dict)
    campaigns: list[Campaign] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> CampaignBook:
        ids: set[str] = set()
        seen: dict[str, str] = {}
        for c in self.campaigns:
            if c.id in ids:
                raise ValueError(f"campaign {c.id!r} is defined twice")
            ids.add(c.id)
            for key in c.keys:
                if key in seen and seen[key] != c.id:
                    raise ValueError(
                        f"utm_campaign {key!r} belongs to both {seen[key]!r} and {c.id!r}"
                    )
                seen[key] = c.id
        return self

    def owner_of(self, key: str) -> Campaign | None:
        """The campaign a utm_campaign value belongs to."""
        wanted = key.strip().lower()
        return next((c for c in self.campaigns if wanted in c.keys), None)

    def rate(self, currency: str) -> Decimal | None:
        return Decimal(1) if currency == self.currency else self.exchange_rates.get(currency)


def each_day(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
