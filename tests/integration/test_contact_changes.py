"""One way to change a contact: every change, a journey step's too, is written at the version
it read, so a decision made on a stale read is refused and made again, and nothing another
writer did meanwhile is lost."""

from __future__ import annotations

import pytest

from chalicelib.contact_change import JOURNEY_SCORE_REASON
from chalicelib.events import Event
from chalicelib.store.changes import AlreadyDone, Change, commit
from chalicelib.store.optimistic import Stale
from tests.builders import lead, post_json

BUMP = """
name: Bump
trigger: {event: bump_me}
steps:
  - id: pause
    wait: 1d
  - id: bump
    update:
      score: 10
      tags: {add: [bumped], remove: [cold]}
      fields: {plan: trial}
"""


def test_a_journey_update_read_before_another_change_is_refused_then_made_again(
    client, journeys, tmp_path
):
    journeys.publish(tmp_path / "marketing", bump=BUMP)
    assert post_json(client, lead()).status_code == 201
    journeys.settle()
    svc = journeys.svc
    ada = svc.contacts.find_by_key("email:ada@example.com")
    journeys.event(ada, "bump_me")
    journeys.clock.advance(days=1)
    (enrollment,) = [e for e in svc.enrollments.for_contact(ada) if e.journey_id == "bump"]
    facts = svc.journeys.facts(ada)
    stale = svc.journeys.engine.advance(
        svc.journeys.library.version("bump", enrollment.journey_version), enrollment, facts
    )
    # Meanwhile someone else changes the contact: a salesperson tags it.
    meanwhile = Change.of(svc.contacts.get(ada))
    meanwhile.tag("vip")
    meanwhile.tag("cold")
    commit(meanwhile, journeys.clock.now(), svc.settings.pending_shards, svc.settings.due_shards)
    before = svc.contacts.get(ada)

    with pytest.raises(Stale):
        svc.enrollments.commit(stale, journeys.clock.now())
    journeys.settle()

    after = svc.contacts.get(ada)
    assert set(after["tags"]) == {"vip", "bumped"}  # the journey's removal of cold held too
    assert after["score"] == (before["score"] or 0) + 10
    assert after["score_reasons"][JOURNEY_SCORE_REASON] == 10
    assert sum(int(v) for v in after["score_reasons"].values()) == after["score"]
    assert after["properties"]["plan"] == "trial"
    assert after["version"] == before["version"] + 1


def test_a_change_made_twice_is_told_apart_from_a_stale_one_whatever_else_it_writes(
    client, journeys
):
    """The transaction's items go out grouped by kind (a timer's delete ahead of the event's
    put); which one failed is still read against the change's own items."""
    assert post_json(client, lead()).status_code == 201
    journeys.settle()
    svc = journeys.svc
    ada = svc.contacts.find_by_key("email:ada@example.com")
    now = journeys.clock.now()
    shards = (svc.settings.pending_shards, svc.settings.due_shards)
    event = Event(
        contact_id=ada, event_id="ev-twice", type="tagged", occurred_at=now, source="test"
    )
    first = Change.of(svc.contacts.get(ada))
    first.tag("vip")
    first.events.append(event)
    commit(first, now, *shards)

    again = Change.of(svc.contacts.get(ada))  # the version after the first: not stale
    again.tag("vip")
    again.events.append(event)
    again.cancel.append("no-such-timer")
    with pytest.raises(AlreadyDone):
        commit(again, now, *shards)

    stale = Change.of({**svc.contacts.get(ada), "version": 0})
    stale.tag("gold")
    stale.events.append(
        Event(contact_id=ada, event_id="ev-new", type="tagged", occurred_at=now, source="test")
    )
    stale.cancel.append("no-such-timer")
    with pytest.raises(Stale):
        commit(stale, now, *shards)
    assert "gold" not in svc.contacts.get(ada)["tags"]
