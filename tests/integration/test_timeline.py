"""The 360-degree view lists a contact's events in the order they happened, the same way on
every read, even though effects carry ids that sort by their cause's time."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import pytest

from chalicelib.clock import FakeClock
from chalicelib.events import Event
from chalicelib.timeline import in_order
from tests.builders import lead, post_json, track
from tests.unit.test_timeline import T0


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


def test_the_score_changes_of_one_event_come_before_the_stage_they_reach(svc):
    """Written in one transaction at one instant, they still read in cause order."""
    from chalicelib import ids
    from chalicelib.services.scorekeeper import Scorekeeper

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
