"""Retention: a contact quiet for the retention period is erased on the day it passes, found
by its own timer (no scan); activity moves the day; the report counters stay; no mark is
left, so the person may sign up again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.content import catalog
from chalicelib.local.provision import provision
from chalicelib.store.models import EventModel
from tests.builders import (
    ROOT,
    DynamoCalls,
    Journeys,
    Pipeline,
    active_behind_emails,
    lead,
    post_json,
)
from tests.conftest import settings

DAYS = 365


@pytest.fixture
def kept(aws, clock, tmp_path) -> Iterator[Journeys]:
    """The sample content on services that keep contacts for DAYS of quiet."""
    aws.reset()
    services = bootstrap.build(
        settings(outbox_dir=str(tmp_path / "outbox"), retain_inactive_days=DAYS),
        clock,
        sleep=lambda s: clock.advance(seconds=s),
    )
    provision(services, catalog.load(ROOT / "marketing"))
    bootstrap.reset(services)
    yield Journeys(services, Pipeline(services), clock)
    bootstrap.reset(None)


@pytest.fixture
def client(kept) -> Iterator[Client]:
    with Client(app, project_dir=str(ROOT)) as test_client:
        yield test_client


def _overview(client, key, day):
    period = f"from={day:%Y-%m-%d}&to={day:%Y-%m-%d}"
    return client.http.get(f"/reports/overview?{period}", headers={"X-Api-Key": key}).json_body


def test_a_quiet_contact_is_erased_the_day_the_period_passes_and_the_counts_stay(client, kept):
    svc = kept.svc
    key = svc.api_keys.create("admin", "admin")
    assert post_json(client, lead(email="quiet@example.com")).status_code == 201
    kept.settle()
    quiet = svc.contacts.find_by_email("quiet@example.com")
    day = kept.clock.now()
    before = _overview(client, key, day)
    assert before["kpis"][0] == {"kpi": "contacts", "value": 1, "previous": 0, "change": None}

    kept.later(days=DAYS - 1)
    assert svc.contacts.get(quiet) is not None
    with DynamoCalls() as operations:
        kept.later(days=2)

    assert svc.contacts.get(quiet) is None
    assert svc.contacts.find_by_key("email:quiet@example.com") is None
    assert [e for e in EventModel.scan() if e.contact_id == quiet] == []
    assert "Scan" not in operations
    (request,) = svc.privacy.all()
    assert (request["kind"], request["status"], request["by"]) == ("retention", "done", "retention")
    assert request["result"]["deleted"]["contacts"] == 1
    assert "quiet@example.com" not in str(request)
    assert _overview(client, key, day)["kpis"] == before["kpis"]
    # No erasure mark: the person may simply sign up again.
    assert svc.privacy.requests.erased(["email:quiet@example.com"]) == set()
    assert post_json(client, lead(email="quiet@example.com")).status_code == 201


def test_activity_moves_the_day_and_a_busy_contact_is_kept(client, kept):
    svc = kept.svc
    assert post_json(client, lead(email="busy@example.com")).status_code == 201
    kept.settle()
    busy = svc.contacts.find_by_email("busy@example.com")

    kept.later(days=200)
    kept.event(busy, "page_viewed", url="https://example.com/pricing")
    kept.later(days=DAYS - 200 + 1)  # past a year from the post, not from the visit
    assert svc.contacts.get(busy) is not None
    kept.later(days=200)  # a year and a day after the visit
    assert svc.contacts.get(busy) is None


def test_an_activity_behind_hundreds_of_emails_still_counts(client, kept):
    svc = kept.svc
    reader = active_behind_emails(client, kept, "reader@example.com")
    kept.later(days=DAYS - 150 + 1)  # a year after the post, within a year of the click
    assert svc.contacts.get(reader) is not None
    kept.later(days=100)
    assert svc.contacts.get(reader) is None


def test_a_retried_retention_finishes_the_erasure_and_records_it_once(client, kept):
    from chalicelib import ids
    from chalicelib.events import Event

    svc = kept.svc
    assert post_json(client, lead(email="gone@example.com")).status_code == 201
    kept.settle()
    gone = svc.contacts.find_by_email("gone@example.com")
    contact = svc.contacts.get(gone)
    first = svc.privacy.retire(gone, contact, "cause-1")
    # A crash after the contact went, before the rest: an event is still there.
    now = kept.clock.now()
    svc.events.append(Event(gone, ids.event_id(now), "page_viewed", now, "test", {}))

    again = svc.privacy.retire(gone, None, "cause-1")

    assert again is not None and again.id == first.id
    assert [e for e in EventModel.scan() if e.contact_id == gone] == []
    assert [r["id"] for r in svc.privacy.all()] == [first.id]
    assert svc.privacy.retire(gone, None, "another-cause") is None


def test_a_merged_away_contact_timer_leaves_the_survivor_alone(client, kept):
    svc = kept.svc
    for email in ("one@example.com", "two@example.com"):
        assert post_json(client, lead(email=email)).status_code == 201
    kept.settle()
    one = svc.contacts.find_by_email("one@example.com")
    two = svc.contacts.find_by_email("two@example.com")
    kept.later(days=200)
    kept.event(one, "page_viewed", url="https://example.com/pricing")
    svc.merger.merge(one, two, "test", [])

    kept.later(days=DAYS - 200 + 1)  # the merged-away id's timer fires: nobody is erased

    assert svc.contacts.get_own(one) is not None
    assert [r["kind"] for r in svc.privacy.all()] == []
