"""Report figures from counters: money in one currency, rates, the funnel, ROI. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalicelib.lifecycle import LADDER
from chalicelib.reports import histogram, tally
from chalicelib.reports.campaigns import CampaignBook

Metrics = Mapping[str, Decimal]
CENTS = Decimal("0.01")


def money(metrics: Metrics, prefix: str, book: CampaignBook) -> tuple[Decimal, dict[str, Decimal]]:
    """The metrics named `{prefix}@{currency}` in the book's currency, and what was in a
    currency the book has no exchange rate for (reported beside, never guessed)."""
    total, unconverted = Decimal(0), {}
    for name, value in metrics.items():
        head, _, currency = name.rpartition("@")
        if head != prefix or not currency:
            continue
        rate = book.rate(currency)
        if rate is None:
            unconverted[currency] = unconverted.get(currency, Decimal(0)) + value
        else:
            total += value * rate
    return total.quantize(CENTS), {k: v.quantize(CENTS) for k, v in unconverted.items()}


def count(metrics: Metrics, name: str) -> int:
    return int(metrics.get(name, 0))


def share(part: float | Decimal, whole: float | Decimal) -> float | None:
    """part / whole to four places, or None when there is no whole (never a division by 0)."""
    return round(float(part) / float(whole), 4) if whole else None


def per(spend: Decimal, n: float | Decimal) -> Decimal | None:
    """Cost per one of n (a lead, an MQL): None when there was none."""
    return (spend / Decimal(str(n))).quantize(CENTS) if n else None


def roi(revenue: Decimal, spend: Decimal) -> float | None:
    """(revenue - spend) / spend, or None with no spend."""
    return round(float((revenue - spend) / spend), 4) if spend else None


def funnel(metrics: Metrics) -> list[dict[str, Any]]:
    """Each stage of the ladder: how many reached it, the share of the stage before that went
    on (next-step conversion), the share of the first stage (cumulative), and the median and
    90th percentile of minutes spent in it before moving on."""
    rows: list[dict[str, Any]] = []
    first = count(metrics, tally.stage(LADDER[0]))
    previous: int | None = None
    for stage in LADDER:
        n = count(metrics, tally.stage(stage))
        buckets = histogram.of_labels(metrics, tally.stage_time(stage))
        rows.append(
            {
                "stage": str(stage),
                "count": n,
                "next_step": share(n, previous) if previous is not None else None,
                "cumulative": share(n, first),
                "median_minutes": histogram.percentile(buckets, 0.5),
                "p90_minutes": histogram.percentile(buckets, 0.9),
            }
        )
        previous = n
    return rows


def email(metrics: Metrics) -> dict[str, Any]:
    """An email scope's counts and the rates Dittofeed's users asked for, counts first."""
    sent = count(metrics, tally.SENT)
    delivered = count(metrics, tally.DELIVERED)
    base = delivered or sent
    bounced = count(metrics, tally.BOUNCED_HARD) + count(metrics, tally.BOUNCED_SOFT)
    unsubscribed = count(metrics, tally.UNSUBSCRIBED) + sum(
        int(v) for k, v in metrics.items() if k.startswith(f"{tally.UNSUBSCRIBED}:")
    )
    out: dict[str, Any] = {m: count(metrics, m) for m in tally.EMAIL_METRICS}
    out["unsubscribed_topics"] = {
        k.split(":", 1)[1]: int(v)
        for k, v in sorted(metrics.items())
        if k.startswith(f"{tally.UNSUBSCRIBED}:")
    }
    out.update(
        delivery_rate=share(delivered, sent),
        bounce_rate=share(bounced, sent),
        open_rate=share(count(metrics, tally.OPENS_UNIQUE), base),
        click_rate=share(count(metrics, tally.CLICKS_UNIQUE), base),
        click_to_open=share(
            count(metrics, tally.CLICKS_UNIQUE), count(metrics, tally.OPENS_UNIQUE)
        ),
        unsubscribe_rate=share(unsubscribed, base),
        complaint_rate=share(count(metrics, tally.COMPLAINED), base),
    )
    return out


def pipeline(metrics: Metrics) -> dict[str, int]:
    """The contact outcomes of a scope: new contacts and each stage reached."""
    out = {"contacts": count(metrics, tally.CONTACTS)}
    out.update({str(s): count(metrics, tally.stage(s)) for s in LADDER})
    out["deals_won"] = count(metrics, tally.DEALS_WON)
    return out


def ab_confidence(a_hits: int, a_n: int, b_hits: int, b_n: int) -> float | None:
    """How sure one can be that two variants' rates differ: 1 - the two-sided p-value of a
    two-proportion z-test (pooled), or None without enough sends to say (fewer than 30 in an
    arm, or no difference in what happened at all)."""
    if a_n < 30 or b_n < 30:
        return None
    pooled = (a_hits + b_hits) / (a_n + b_n)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / a_n + 1 / b_n))
    if spread == 0:
        return None
    z = abs(a_hits / a_n - b_hits / b_n) / spread
    return round(math.erf(z / math.sqrt(2)), 4)
