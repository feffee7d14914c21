"""What the engine may know about a contact, loaded from the store only when asked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.events import Event
from chalicelib.journeys.engine import SendHistory
from chalicelib.store import event_log as event_rows
from chalicelib.store.contacts import ContactStore
from chalicelib.store.enrollments import EnrollmentStore
from chalicelib.store.models import EventModel

TIMELINE_LIMIT = 1000


def timeline_since(contact_id: str, since: datetime | None) -> list[Event]:
    """A contact's events since `since` (all, if None), newest first, up to TIMELINE_LIMIT:
    one Query on the contact's own partition, whatever the number of contacts."""
    if since is None:
        items = EventModel.query(contact_id, limit=TIMELINE_LIMIT, scan_index_forward=False)
    else:
        items = EventModel.query(
            contact_id,
            EventModel.event_id >= ids.lowest_event_id(since),
            limit=TIMELINE_LIMIT,
            scan_index_forward=False,
        )
    return [event_rows.from_model(item) for item in items]


class ReadFacts:
    """Facts around a contact already read (the one a change will be written against), its
    timeline loaded when a condition asks. A load that holds all of a window serves it: with
    `widest` (the furthest back the conditions at hand look), the first load reaches that
    far, so conditions with a 30-day and a 90-day window cost one Query, not two."""

    def __init__(self, contact: dict[str, Any], widest: datetime | None = None) -> None:
        self._contact = contact
        self._widest = widest
        self._events: dict[datetime | None, list[Event]] = {}

    def contact(self) -> dict[str, Any]:
        return self._contact

    def events(self, since: datetime | None) -> list[Event]:
        # The newest TIMELINE_LIMIT events from further back, cut at `since`, are the newest
        # TIMELINE_LIMIT from `since`: a full load serves a narrower window as well.
        for loaded, events in self._events.items():
            if _covers(loaded, since):
                return _since(events, since)
        load = since
        if self._widest is not None and since is not None and self._widest < since:
            load = self._widest
        self._events[load] = timeline_since(str(self._contact["id"]), load)
        return _since(self._events[load], since)


def _covers(loaded: datetime | None, since: datetime | None) -> bool:
    return loaded is None or (since is not None and loaded <= since)


def _since(events: list[Event], since: datetime | None) -> list[Event]:
    """What `timeline_since(since)` would have returned, from a load that reaches further."""
    if since is None:
        return events
    lowest = ids.lowest_event_id(since)
    return [e for e in events if e.event_id >= lowest]


class StoreFacts:
    """Lazy and cached for one decision: a branch that never looks at the contact costs no read."""

    def __init__(self, contact_id: str, contacts: ContactStore, enrollments: EnrollmentStore):
        self.contact_id = contact_id
        self._contacts = contacts
        self._enrollments = enrollments
        self._contact: dict[str, Any] | None = None
        self._sends: SendHistory | None = None
        self.reads = 0

    def contact(self) -> dict[str, Any]:
        if self._contact is None:
            self.reads += 1
            self._contact = self._contacts.get(self.contact_id) or {}
        return self._contact

    def events(self, since: datetime | None) -> list[Event]:
        self.reads += 1
        return timeline_since(self.contact_id, since)

    def sends(self) -> SendHistory:
        if self._sends is None:
            self.reads += 1
            self._sends = self._enrollments.send_history(self.contact_id)
        return self._sends

    def forget(self) -> None:
        """Drop what was loaded, before a retry after losing a race."""
        self._contact = None
        self._sends = None
