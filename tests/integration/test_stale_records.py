"""Stale records: a contact quiet for `verify_after` gets one verification task per period,
for its owner or the shared pool's manager, found by its own timer (no scan)."""

from __future__ import annotations

from chalicelib.events import EMAIL_QUEUED, VERIFICATION_REQUESTED
from tests.builders import active_behind_emails, lead, post_json


def _timeline(journeys, contact_id):
    return journeys.svc.events.timeline(contact_id, limit=1000, newest_first=False)


def _requests(journeys, contact_id):
    return [e for e in _timeline(journeys, contact_id) if e.type == VERIFICATION_REQUESTED]


def test_a_quiet_contact_is_checked_once_per_period_and_activity_moves_the_check(
    client, svc, journeys
):
    assert post_json(client, lead(email="quiet@example.com")).status_code == 201
    journeys.settle()
    quiet = svc.contacts.find_by_email("quiet@example.com")

    journeys.later(days=179)
    assert _requests(journeys, quiet) == []
    journeys.later(days=2)
    first = _requests(journeys, quiet)
    assert len(first) == 1 and first[0].properties["days"] >= 180
    assert first[0].properties["assignee"] == "inbound manager"
    mails = [
        e
        for e in _timeline(journeys, quiet)
        if e.type == EMAIL_QUEUED and e.caused_by == first[0].caused_by
    ]
    assert [m.properties["to"] for m in mails] == ["morgan.reyes@example.com"]

    journeys.later(days=90)  # within the period: nothing new
    assert len(_requests(journeys, quiet)) == 1
    journeys.event(quiet, "page_viewed", url="https://example.com/pricing")  # active again
    journeys.later(days=179)
    assert len(_requests(journeys, quiet)) == 1  # the activity moved the next check
    journeys.later(days=5)
    assert len(_requests(journeys, quiet)) == 2


def test_an_active_contact_is_never_checked(client, svc, journeys):
    assert post_json(client, lead(email="busy@example.com")).status_code == 201
    journeys.settle()
    busy = svc.contacts.find_by_email("busy@example.com")
    for _ in range(4):
        journeys.later(days=100)
        journeys.event(busy, "page_viewed", url="https://example.com/blog")
    assert _requests(journeys, busy) == []


def test_an_activity_behind_hundreds_of_emails_still_counts(client, journeys):
    reader = active_behind_emails(client, journeys, "reader@example.com")

    journeys.later(days=31)  # 181 days after the post, 81 after the click
    assert _requests(journeys, reader) == []
    journeys.later(days=100)  # 181 days after the click
    assert len(_requests(journeys, reader)) == 1
