"""Retention: a contact with no activity of their own for the retention period is erased,
as an erasure request would erase them, with no mark against their keys (they may simply
sign up again). The report counters stay: they count days and campaigns, not people.

No scan finds them. A contact's first form post, import or identification sets a timer on
the due-time index (the one SLAs and stale records use) one period ahead; when it fires, the
contact's events within the period decide (only those are read): an activity moves the timer
to that activity plus the period, none erases the contact. Each erasure is recorded as a
privacy request of kind `retention`, done at once, naming the person by a keyed hash only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.events import CONTACT_IMPORTED, FORM_SUBMITTED, IDENTIFIED, RETENTION_DUE, Event
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.services.privacy import PrivacyDesk
from chalicelib.store.changes import Timer
from chalicelib.store.event_log import EventStore
from chalicelib.store.timers import TimerStore

TIMER = "retention"
ARMED_BY = (FORM_SUBMITTED, CONTACT_IMPORTED, IDENTIFIED)


class Retention:
    def __init__(
        self, period: timedelta, events: EventStore, timers: TimerStore, privacy: PrivacyDesk
    ) -> None:
        self.period = period
        self.events = events
        self.timers = timers
        self.privacy = privacy

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        if not event.contact_id.startswith("ct_"):
            return
        if event.type in ARMED_BY:
            self._arm(event.contact_id, event.occurred_at + self.period)
        elif event.type == RETENTION_DUE:
            self._check(event)

    def _arm(self, contact_id: str, due: datetime) -> None:
        """One conditional write: a returning person's post finds the timer set."""
        timer = Timer(TIMER, RETENTION_DUE, due)
        self.timers.set_if_absent(contact_id, timer, self.privacy.clock.now())

    def _check(self, cause: Event) -> None:
        contact = self.privacy.contacts.get_own(cause.contact_id)
        if contact is None:
            # Erased already; a retry after a crash mid-way finishes what is left.
            self.privacy.retire(cause.contact_id, None, cause.event_id)
            return
        if contact.get("merged_into"):
            return  # merged away: the survivor's own timer watches the person
        cutoff = cause.occurred_at - self.period
        last = self.events.activity_since(cause.contact_id, cutoff)
        if last is None and contact["created_at"] > cutoff:
            last = contact["created_at"]  # never active, but not quiet for long enough
        if last is not None:
            self._arm(cause.contact_id, last + self.period)
            return
        self.privacy.retire(cause.contact_id, contact, cause.event_id)
