"""The 360-degree view lists a contact's events in the order they happened, the same way on
every read, even though effects carry ids that sort by their cause's time."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.clock import FakeClock
from chalicelib.events import Event
from chalicelib.timeline import in_order
from tests.builders import lead, post_json, track


class TickingClock(FakeClock):
    """A clock that moves three milliseconds at every read, as a real one does."""

    def now(self) -> datetime:
        return self.advance(milliseconds=3)


@pytest.fixture
def clock() -> FakeClock:
    return TickingClock()


def test_the_contact_view_lists_events_in_the_order_they_happened(client, svc, journeys, admin_key):
    assert post_json(client, lead()).status_code == 201
    view = {"type": "page_viewed", "email": "ada@example.com", "url": "https://x.example/pricing"}
    assert track(client, **view).status_code == 202
    journeys.settle()  # the form's score and journeys are processed after the page view
    journeys.deliver()
    journeys.settle()
    cid = svc.contacts.find_by_key("email:ada@example.com")
    answer = client.http.get(f"/contacts/{cid}?limit=500", headers={"X-Api-Key": admin_key})
    timeline = json.loads(answer.body)["timeline"]
    assert len(timeline) > 8
    times = [datetime.fromisoformat(e["occurred_at"]) for e in timeline]
    assert times == sorted(times, reverse=True)  # newest first, as documented
    kinds = [e["type"] for e in reversed(timeline)]
    assert kinds[:2] == ["form_submitted", "page_viewed"]
    assert kinds.index("score_changed") > kinds.index("page_viewed")
    again = client.http.get(f"/contacts/{cid}?limit=500", headers={"X-Api-Key": admin_key})
    assert json.loads(again.body)["timeline"] == timeline


T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@st.composite
def histories(draw) -> list[Event]:
    """Events at a handful of instants, many sharing one; each may be caused by an earlier
    one, and its id, like an effect's, may sort anywhere."""
    events: list[Event] = []
    for n in range(draw(st.integers(1, 25))):
        at = T0 + timedelta(milliseconds=draw(st.integers(0, 3)))
        cause = draw(st.sampled_from([None, *[e for e in events if e.occurred_at <= at]]))
        event_id = f"{draw(st.integers(0, 99)):02d}{n:03d}"
        kind = draw(st.sampled_from(["form_submitted", "score_changed", "email_queued"]))
        caused_by = cause.event_id if cause else None
        events.append(Event("ct_1", event_id, kind, at, "test", caused_by=caused_by))
    return events


@given(histories(), st.randoms())
def test_time_order_puts_causes_first_and_is_the_same_for_any_read_order(
    events, rnd: random.Random
):
    ordered = in_order(events)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert in_order(shuffled) == ordered
    assert in_order(shuffled, newest_first=True) == ordered[::-1]
    assert [e.occurred_at for e in ordered] == sorted(e.occurred_at for e in events)
    position = {e.event_id: i for i, e in enumerate(ordered)}
    for e in events:
        cause = next((c for c in events if c.event_id == e.caused_by), None)
        if cause is not None and cause.occurred_at == e.occurred_at:
            assert position[cause.event_id] < position[e.event_id]


def test_the_score_changes_of_one_event_come_before_the_stage_they_reach(svc):
    """Written in one transaction at one instant, they still read in cause order."""
    from chalicelib import ids
    from chalicelib.leads.scorekeeper import Scorekeeper

    scoring = svc.leads.scoring()
    keeper = Scorekeeper(svc.leads, svc.sales.writer)
    contact = {"id": "ct_1", "version": 1, "email": "ada@bigcorp.example", "properties": {}}
    contact["properties"] = {"job_title": "VP Sales", "company_size": "1000+", "country": "US"}
    for _ in range(20):  # ids are random: any order they happen to give must not matter
        posted = Event("ct_1", ids.event_id(T0), "form_submitted", T0, "form")
        posted = replace(posted, properties={"form_id": "whitepaper"})
        change = keeper.decide(scoring, contact, posted, T0)
        kinds = [e.type for e in in_order([posted, *change.events])]
        assert kinds[0] == "form_submitted" and kinds[-1] == "stage_changed"
        assert kinds.count("score_changed") == 4
