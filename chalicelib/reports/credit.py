"""Attribution: how one deal's credit is shared among the touches that led to it.

The six models HubSpot offers. Position-based ones name their anchors: the first touch, the
touch on which the contact became a lead (its first form), and, for W-shaped, the last touch
before the opportunity opened. Whatever the model and however few the touches, the shares of
one deal sum to exactly 1: an anchor's share with no touch of its own goes to the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

HALF_LIFE = timedelta(days=7)
NONE = "(none)"
# Shares are kept to this many places; the rounding remainder goes to the largest share.
PLACES = Decimal("0.000001")


class Model(StrEnum):
    FIRST_TOUCH = "first_touch"
    LAST_TOUCH = "last_touch"
    LINEAR = "linear"
    U_SHAPED = "u_shaped"
    W_SHAPED = "w_shaped"
    TIME_DECAY = "time_decay"


@dataclass(frozen=True)
class Touch:
    """One attributed interaction: when, under which campaign, through which channel."""

    at: datetime
    campaign: str = NONE
    channel: str = NONE
    lead: bool = False  # the contact became a lead on this touch


def weights(
    touches: Sequence[Touch],
    model: Model,
    closed_at: datetime,
    opportunity_at: datetime | None = None,
) -> list[Decimal]:
    """Each touch's share of the deal, in the order given (oldest first); they sum to 1."""
    n = len(touches)
    if n == 0:
        return []
    raw: list[float]
    match model:
        case Model.FIRST_TOUCH:
            raw = [1.0] + [0.0] * (n - 1)
        case Model.LAST_TOUCH:
            raw = [0.0] * (n - 1) + [1.0]
        case Model.LINEAR:
            raw = [1.0] * n
        case Model.U_SHAPED:
            raw = _positional(n, [0, _lead_index(touches)], 0.4, 0.2)
        case Model.W_SHAPED:
            anchors = [0, _lead_index(touches), _opportunity_index(touches, opportunity_at)]
            raw = _positional(n, anchors, 0.3, 0.1)
        case Model.TIME_DECAY:
            half = HALF_LIFE.total_seconds()
            raw = [0.5 ** (max((closed_at - t.at).total_seconds(), 0.0) / half) for t in touches]
    return _normalised(raw)


def _lead_index(touches: Sequence[Touch]) -> int:
    return next((i for i, t in enumerate(touches) if t.lead), 0)


def _opportunity_index(touches: Sequence[Touch], opened: datetime | None) -> int:
    if opened is None:
        return len(touches) - 1
    before = [i for i, t in enumerate(touches) if t.at <= opened]
    return before[-1] if before else 0


def _positional(n: int, anchors: list[int], each: float, rest: float) -> list[float]:
    """`each` to every anchor (an anchor named twice gets it twice), `rest` shared by the
    other touches; with no other touch, the anchors share everything."""
    raw = [0.0] * n
    for i in anchors:
        raw[i] += each
    others = [i for i in range(n) if i not in set(anchors)]
    for i in others:
        raw[i] += rest / len(others)
    return raw


def _normalised(raw: list[float]) -> list[Decimal]:
    total = sum(raw)
    if total <= 0:  # every weight underflowed (touches decades before the deal): share alike
        raw, total = [1.0] * len(raw), float(len(raw))
    shares = [(Decimal(r) / Decimal(total)).quantize(PLACES) for r in raw]
    remainder = Decimal(1) - sum(shares)
    if remainder:
        largest = max(range(len(shares)), key=lambda i: shares[i])
        shares[largest] += remainder
    return shares


def credit(
    touches: Sequence[Touch],
    model: Model,
    closed_at: datetime,
    opportunity_at: datetime | None = None,
    key: str = "campaign",
) -> dict[str, Decimal]:
    """The deal's share per campaign (or per channel, with key="channel"); a deal with no
    touch at all is credited whole to "(none)", so credited revenue adds up to revenue."""
    if not touches:
        return {NONE: Decimal(1)}
    out: dict[str, Decimal] = {}
    for touch, share in zip(
        touches, weights(touches, model, closed_at, opportunity_at), strict=True
    ):
        name = getattr(touch, key)
        out[name] = out.get(name, Decimal(0)) + share
    return {k: v for k, v in out.items() if v}
