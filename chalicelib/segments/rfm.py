"""RFM: how recently, how often and how much each buyer bought, scored 1 to 5 by quintiles
among all buyers, and the eight tiers Chinese CRMs use (plus sleeping); pure.

Recency, frequency and monetary each score 1 (the lowest fifth of buyers) to 5 (the highest
fifth); buyers with equal values get equal scores, so the result does not depend on the
order buyers are read in. A score is high when it reaches the threshold: the mean or the
median of that score over all buyers, or a fixed score. A buyer whose last purchase is older
than `sleeping_after` is sleeping, whatever the scores.
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field

from chalicelib.conditions.language import Duration, Strict
from chalicelib.events import DEAL_WON, PURCHASE

# (recency high, frequency high, monetary high) -> (tier id, the name Chinese CRMs use)
TIERS: dict[tuple[bool, bool, bool], tuple[str, str]] = {
    (True, True, True): ("important-value", "重要价值客户"),
    (True, False, True): ("important-develop", "重要发展客户"),
    (False, True, True): ("important-keep", "重要保持客户"),
    (False, False, True): ("important-retain", "重要挽留客户"),
    (True, True, False): ("general-value", "一般价值客户"),
    (True, False, False): ("general-develop", "一般发展客户"),
    (False, True, False): ("general-keep", "一般保持客户"),
    (False, False, False): ("general-retain", "一般挽留客户"),
}
SLEEPING = ("sleeping", "沉睡客户")


class RfmSettings(Strict):
    """marketing/rfm.yaml."""

    id: str = "rfm"
    purchase_events: Annotated[list[str], Field(min_length=1)] = Field(
        default_factory=lambda: [DEAL_WON, PURCHASE]
    )
    amount: str = "amount"  # the purchase event's property that holds the amount
    monetary: Literal["sum", "average"] = "sum"
    threshold: Literal["mean", "median", "fixed"] = "mean"
    fixed: Annotated[int, Field(ge=1, le=5)] = 3
    sleeping_after: Duration = timedelta(days=180)


@dataclass(frozen=True)
class Buyer:
    contact_id: str
    last_at: datetime
    count: int
    total: float


@dataclass(frozen=True)
class Rfm:
    r: int
    f: int
    m: int
    tier: str
    label: str

    def to_body(self, computed_at: datetime) -> dict[str, Any]:
        return {
            "r": self.r,
            "f": self.f,
            "m": self.m,
            "tier": self.tier,
            "label": self.label,
            "computed_at": computed_at.isoformat(),
        }


def quintiles(values: dict[Hashable, float]) -> dict[Hashable, int]:
    """Score 1..5 by the fifth of the values each falls in (higher value, higher score);
    equal values share the score of the first of them."""
    ordered = sorted(values.items(), key=lambda kv: (kv[1], str(kv[0])))
    n = len(ordered)
    scores: dict[Hashable, int] = {}
    first_at: dict[float, int] = {}
    for i, (key, value) in enumerate(ordered):
        start = first_at.setdefault(value, i)
        scores[key] = 1 + (5 * start) // n
    return scores


def score(buyers: list[Buyer], settings: RfmSettings, now: datetime) -> dict[str, Rfm]:
    if not buyers:
        return {}
    recency = quintiles({b.contact_id: b.last_at.timestamp() for b in buyers})
    frequency = quintiles({b.contact_id: float(b.count) for b in buyers})
    money = {
        b.contact_id: b.total if settings.monetary == "sum" else b.total / max(b.count, 1)
        for b in buyers
    }
    monetary = quintiles(money)
    thresholds = [_threshold(list(s.values()), settings) for s in (recency, frequency, monetary)]
    out: dict[str, Rfm] = {}
    for b in buyers:
        r, f, m = recency[b.contact_id], frequency[b.contact_id], monetary[b.contact_id]
        if now - b.last_at > settings.sleeping_after:
            tier = SLEEPING
        else:
            tier = TIERS[(r >= thresholds[0], f >= thresholds[1], m >= thresholds[2])]
        out[b.contact_id] = Rfm(int(r), int(f), int(m), *tier)
    return out


def _threshold(scores: list[int], settings: RfmSettings) -> float:
    if settings.threshold == "fixed":
        return settings.fixed
    return statistics.mean(scores) if settings.threshold == "mean" else statistics.median(scores)
