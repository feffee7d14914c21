"""Attribution models on hand-computed touches, and the one rule they all keep: the credit of
one deal sums to exactly 1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.events import FORM_SUBMITTED, PAGE_VIEWED, Event
from chalicelib.reports.credit import NONE, Model, Touch, credit, weights
from chalicelib.reports.touches import touches

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


# Four touches: an ad (first), the form that made a lead, a webinar, the demo before the deal.
JOURNEY = [
    Touch(at(0), "ads", "paid_search"),
    Touch(at(2), "playbook", "organic_search", lead=True),
    Touch(at(5), "webinar", "email"),
    Touch(at(9), "demo", "direct"),
]
CLOSED = at(10)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (Model.FIRST_TOUCH, ["1", "0", "0", "0"]),
        (Model.LAST_TOUCH, ["0", "0", "0", "1"]),
        (Model.LINEAR, ["0.25", "0.25", "0.25", "0.25"]),
        (Model.U_SHAPED, ["0.4", "0.4", "0.1", "0.1"]),  # 40/40, the 20 between the rest
        (Model.W_SHAPED, ["0.3", "0.3", "0.1", "0.3"]),  # opportunity opened on day 9
    ],
)
def test_positional_models_share_as_hubspot_does(model, expected):
    shares = weights(JOURNEY, model, CLOSED, opportunity_at=at(9))
    assert shares == [Decimal(x) for x in expected]


def test_time_decay_halves_a_touch_s_weight_every_seven_days():
    shares = weights(JOURNEY, Model.TIME_DECAY, CLOSED)
    raw = [0.5 ** ((10 - d) / 7) for d in (0, 2, 5, 9)]
    assert [float(s) for s in shares] == pytest.approx([r / sum(raw) for r in raw], abs=5e-6)
    assert shares[3] > shares[2] > shares[1] > shares[0]


def test_credit_adds_up_per_campaign_and_per_channel():
    repeat = [*JOURNEY[:3], Touch(at(9), "ads", "paid_search")]
    assert credit(repeat, Model.LINEAR, CLOSED) == {
        "ads": Decimal("0.5"),
        "playbook": Decimal("0.25"),
        "webinar": Decimal("0.25"),
    }
    assert credit([], Model.U_SHAPED, CLOSED) == {NONE: Decimal(1)}
    assert credit(JOURNEY, Model.FIRST_TOUCH, CLOSED, key="channel") == {"paid_search": 1}


touch_lists = st.lists(
    st.builds(
        Touch,
        at=st.integers(0, 400).map(lambda h: T0 + timedelta(hours=h)),
        campaign=st.sampled_from(["a", "b", "c", NONE]),
        channel=st.sampled_from(["email", "social", NONE]),
        lead=st.booleans(),
    ),
    min_size=1,
    max_size=12,
).map(lambda ts: sorted(ts, key=lambda t: t.at))


@given(touch_lists, st.sampled_from(list(Model)), st.integers(0, 30))
def test_under_every_model_a_deal_s_credit_sums_to_exactly_one(ts, model, days_after):
    closed = ts[-1].at + timedelta(days=days_after)
    opened = ts[len(ts) // 2].at
    assert sum(weights(ts, model, closed, opened)) == 1
    assert sum(credit(ts, model, closed, opened).values()) == 1
    assert sum(credit(ts, model, closed, opened, key="channel").values()) == 1
    assert all(s >= 0 for s in weights(ts, model, closed, opened))


def _event(kind: str, hours: float, **touch: str) -> Event:
    return Event("ct_1", f"e{hours}", kind, at(hours / 24), "test", {}, touch or None)


def test_touches_are_forms_and_campaign_visits_with_repeats_merged():
    timeline = [
        _event(PAGE_VIEWED, 0, channel="direct"),  # a plain visit: not a touch
        _event(PAGE_VIEWED, 1, campaign="Ads", channel="paid_search"),
        _event(PAGE_VIEWED, 1.2, campaign="ads", channel="paid_search"),  # same visit
        _event(FORM_SUBMITTED, 1.3, campaign="ads", channel="paid_search"),  # lead, same visit
        _event(FORM_SUBMITTED, 30, channel="direct"),  # a form is always a touch
        _event(PAGE_VIEWED, 99, campaign="late", channel="email"),  # after the deal
    ]
    found = touches(timeline, until=at(2))
    assert [(t.campaign, t.channel, t.lead) for t in found] == [
        ("ads", "paid_search", True),
        (NONE, "direct", False),
    ]
