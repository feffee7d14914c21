"""Every kind of condition a segment, branch or scoring rule may write, each held and not held
by one contact at a fixed instant (the clock is the `now` the evaluator is given)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from chalicelib.conditions.evaluation import evaluate
from chalicelib.conditions.language import Condition
from chalicelib.events import Event

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _event(kind: str, days_ago: float, **properties: Any) -> Event:
    at = NOW - timedelta(days=days_ago)
    return Event("c1", f"{at.isoformat()}#{kind}", kind, at, "test", properties)


ADA = {
    "email": "ada@example.com",
    "stage": "mql",
    "score": 42,
    "tags": ["vip", "beta"],
    "segments": ["clickers"],
    "consents": {
        "marketing": {"granted": True, "at": "2026-05-01T00:00:00+00:00"},
        "events": {"granted": False, "at": "2026-05-02T00:00:00+00:00"},
    },
    "first_touch": {"channel": "paid_search", "source": "baidu"},
    "rfm": {"tier": "important-value", "r": 5},
    "properties": {"industry": "制造业", "city": "Shanghai"},
}
TIMELINE = [
    _event("form_submitted", 40, form_id="whitepaper"),
    _event("form_submitted", 20, form_id="whitepaper"),
    _event("form_submitted", 3, form_id="whitepaper"),
    _event("email_clicked", 10, url="https://example.com/pricing"),
    _event("segment_entered", 1, segment="clickers"),  # not something the person did
]


class Facts:
    def __init__(self, contact: dict[str, Any], timeline: list[Event]) -> None:
        self._contact, self._timeline = contact, timeline

    def contact(self) -> dict[str, Any]:
        return self._contact

    def events(self, since: datetime | None) -> list[Event]:
        return [e for e in self._timeline if since is None or e.occurred_at >= since]


CASES = [
    # (condition, holds for Ada, what the reason says)
    ({"field": "properties.industry", "equals": "制造业"}, True, "制造业"),
    ({"field": "city", "in": ["Beijing", "shanghai"]}, True, "Shanghai"),
    ({"field": "email_domain", "equals": "example.org"}, False, "wanted equals"),
    ({"field": "score", "gte": 40}, True, "score is 42"),
    ({"field": "score", "gt": 42}, False, "wanted gt"),
    ({"field": "phone", "exists": False}, True, "phone is empty"),
    ({"tag": "vip"}, True, "tag vip present"),
    ({"tag": "churned"}, False, "tag churned absent"),
    ({"stage_reached": "lead"}, True, "stage is mql"),
    ({"stage_reached": "sql"}, False, "stage is mql"),
    ({"consent": "marketing"}, True, "gave consent to marketing"),
    ({"consent": "events"}, False, "withdrew consent to events"),
    ({"consent": "product"}, False, "never gave consent to product"),
    ({"field": "rfm.tier", "equals": "important-value"}, True, "important-value"),
    ({"field": "first_touch.channel", "equals": "paid_search"}, True, "paid_search"),
    ({"field": "last_touch.channel", "exists": True}, False, "last_touch.channel is empty"),
    ({"segment": "clickers"}, True, "in segment clickers"),
    ({"segment": "dormant"}, False, "not in segment dormant"),
    (
        {
            "event": "form_submitted",
            "where": {"form_id": "whitepaper"},
            "min_count": 2,
            "within": "30d",
        },
        True,
        "2 found",
    ),
    (
        {
            "event": "form_submitted",
            "where": {"form_id": "whitepaper"},
            "min_count": 3,
            "within": "30d",
        },
        False,
        "only 2",
    ),
    ({"event": "form_submitted", "where": {"form_id": "webinar"}}, False, "no form_submitted"),
    ({"event": "form_submitted", "first": True, "within": "30d"}, False, "no first"),
    ({"event": "form_submitted", "first": True, "within": "60d"}, True, "1 found"),
    ({"event": ["email_opened", "email_clicked"], "within": "14d"}, True, "1 found"),
    # The last click was 10 days ago: "not clicked in the last 7 days" holds.
    ({"not": {"event": "email_clicked", "within": "7d"}}, True, "not (no email_clicked"),
    ({"inactive_for": "2d"}, True, "no activity within 2d"),
    ({"inactive_for": "7d"}, False, "form_submitted on"),
    ({"all": [{"tag": "vip"}, {"stage_reached": "mql"}]}, True, "tag vip present and stage"),
    ({"all": [{"tag": "vip"}, {"tag": "churned"}]}, False, "tag churned absent"),
    ({"any": [{"tag": "churned"}, {"segment": "clickers"}]}, True, "in segment clickers"),
    ({"any": [{"tag": "churned"}, {"segment": "dormant"}]}, False, "and not in segment"),
]


@pytest.mark.parametrize(("spec", "holds", "reason"), CASES, ids=[str(c[0]) for c in CASES])
def test_each_kind_of_condition_holds_or_not_with_its_reason(spec, holds, reason):
    condition = TypeAdapter(Condition).validate_python(spec)
    verdict = evaluate(condition, Facts(ADA, TIMELINE), NOW, None)
    assert (verdict.holds, reason in verdict.reason) == (holds, True), verdict.reason


def test_a_contact_never_active_is_inactive_whatever_the_window():
    condition = TypeAdapter(Condition).validate_python({"inactive_for": "90d"})
    verdict = evaluate(condition, Facts({"email": "new@example.com"}, []), NOW, None)
    assert verdict.holds
    assert verdict.reason == "no activity within 90d"
