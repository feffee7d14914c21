"""The report counters, kept as events happen: each counted event adds to its counters once.

Reports never read the event table; this is where events become numbers. It reads what a
count needs (the contact's first touch and owner, the stage it is leaving, the touches
before a deal, the email an unsubscribe came from), asks reports/tally.py what to add, and
adds it with the event's id as the marker, so a redelivered event adds nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.events import DEAL_WON, FORM_SUBMITTED, LEAD_ACCEPTED, STAGE_CHANGED, Event
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.reports import tally
from chalicelib.reports.touches import touches
from chalicelib.store import event_log as event_rows
from chalicelib.store.contacts import ContactStore
from chalicelib.store.event_log import EventStore
from chalicelib.store.stats import StatStore, Tally, shard_of

TIMELINE = 500
"""The newest events read for a deal's touches, a stage's start or a lead's form post."""


class Bookkeeper:
    def __init__(self, stats: StatStore, contacts: ContactStore, events: EventStore) -> None:
        self.stats = stats
        self.contacts = contacts
        self.events = events

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        if event.type not in tally.COUNTED:
            return
        subject = self.subject(event)
        if subject is None:
            return
        counts = tally.counts(event, subject)
        if counts:
            day, shard = event.occurred_at.date(), shard_of(event.contact_id)
            if not ctx.count(Tally(event.event_id, tuple(counts), day, shard)):
                self.stats.add_once(event.event_id, counts, day, shard, ctx.now())

    def subject(self, event: Event) -> tally.Subject | None:
        """What the counts of `event` need to know; None when its contact is gone."""
        if event.type in tally.UNSUBSCRIBES:
            return tally.Subject(email=self._email(event))
        if event.type not in tally.NEEDS_CONTACT:
            return tally.Subject()
        contact = self.contacts.get(event.contact_id)
        if contact is None:
            return None
        extra: dict[str, Any] = {}
        if event.type == STAGE_CHANGED:
            history = self.events.timeline(event.contact_id, TIMELINE, newest_first=True)
            earlier = [
                e
                for e in history
                if e.type == STAGE_CHANGED
                and e.event_id != event.event_id
                and e.occurred_at <= event.occurred_at
            ]
            extra["stage_since"] = _stage_since(event, earlier, contact)
            extra["reached_before"] = frozenset(
                r
                for e in earlier
                for r in tally.rungs(e.properties.get("from"), str(e.properties.get("to")))
            )
        if event.type == LEAD_ACCEPTED:
            extra["posted_at"] = self._posted_at(event)
        if event.type == DEAL_WON:
            history = self.events.timeline(event.contact_id, TIMELINE, newest_first=True)
            extra["touches"] = tuple(touches(history, event.occurred_at))
            opened = ((contact.get("lead") or {}).get("opportunity") or {}).get("opened_at")
            extra["opportunity_at"] = datetime.fromisoformat(opened) if opened else None
        return tally.subject_of(contact, **extra)

    def _email(self, event: Event) -> dict[str, Any]:
        """The journey, step, broadcast and template of the email an unsubscribe came from."""
        sent_id = event.properties.get("email")
        if not sent_id:
            return {}
        sent = self.events.get(event.contact_id, str(sent_id))
        return event_rows.from_model(sent).properties if sent is not None else {}

    def _posted_at(self, event: Event) -> datetime | None:
        """When the form post that made this lead was made: the latest before the accept."""
        for earlier in self.events.timeline(event.contact_id, TIMELINE, newest_first=True):
            if earlier.type == FORM_SUBMITTED and earlier.occurred_at <= event.occurred_at:
                return earlier.occurred_at
        return None


def _stage_since(event: Event, earlier: list[Event], contact: dict[str, Any]) -> datetime | None:
    """When the contact entered the stage this change leaves: the newest earlier change into
    it, or the contact's creation."""
    for change in earlier:  # newest first
        if change.properties.get("to") == event.properties.get("from"):
            return change.occurred_at
    created = contact.get("created_at")
    return created if isinstance(created, datetime) else None
