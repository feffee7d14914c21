"""Stale records: a contact with no activity for `verify_after` (routing.yaml, 180 days by
default) gets a verification task for its owner, or for the shared pool's manager, once per
period.

No scan finds them. A contact's first form post or import (of any contact, new or not) sets
a timer (the same due-time
index as SLAs and follow-ups); when it fires, the steward reads the contact's newest activity
on its timeline. Activity since the timer was set moves the timer to that activity plus the
period; none means the record may be out of date: a `verification_requested` event and an
email to whoever should check it, and the timer set one period later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.events import (
    CONTACT_IMPORTED,
    CONTACT_STALE,
    FORM_SUBMITTED,
    VERIFICATION_REQUESTED,
    Event,
)
from chalicelib.leads import ownership
from chalicelib.leads.ownership import lead_of
from chalicelib.leads.routing import Routing
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.services import notices
from chalicelib.services.notices import Deliveries
from chalicelib.store.changes import Change, Timer
from chalicelib.store.event_log import EventStore
from chalicelib.store.lead_library import LeadLibrary
from chalicelib.store.timers import TimerStore
from chalicelib.store.writer import ContactWriter

TIMER = "contact-verify"
SOURCE = "stewardship"
TIMELINE = 200
"""Newest events read to find the last activity (none among them: the record's creation)."""


class Steward:
    def __init__(
        self,
        library: LeadLibrary,
        writer: ContactWriter,
        events: EventStore,
        timers: TimerStore,
    ) -> None:
        self.library = library
        self.writer = writer
        self.events = events
        self.timers = timers

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        routing = self.library.routing()
        if (
            routing is None
            or routing.verify_after is None
            or not event.contact_id.startswith("ct_")
        ):
            return
        if event.type in (FORM_SUBMITTED, CONTACT_IMPORTED):
            self._arm(event.contact_id, event.occurred_at + routing.verify_after)
        elif event.type == CONTACT_STALE:
            self._check(routing, event)

    def _arm(self, contact_id: str, due: datetime) -> None:
        """Set the timer unless the contact has one: a returning person's post costs one
        refused conditional write, not a read."""
        self.timers.set_if_absent(
            contact_id, Timer(TIMER, CONTACT_STALE, due), self.writer.clock.now()
        )

    def _check(self, routing: Routing, cause: Event) -> None:
        period = routing.verify_after
        assert period is not None

        def decide(contact: dict[str, Any], now: datetime) -> Change:
            # Only the period's events are read, however many emails sit on top of them.
            recent = self.events.activity_since(contact["id"], now - period)
            change = Change.of(contact)
            if recent is not None:
                change.timers.append(Timer(TIMER, CONTACT_STALE, recent + period))
            else:
                quiet = (now - self._last_activity(contact["id"], contact)).days
                self._request(routing, contact, cause, change, now, quiet)
                change.timers.append(Timer(TIMER, CONTACT_STALE, now + period))
            return change

        self.writer.write(cause.contact_id, decide)

    def _last_activity(self, contact_id: str, contact: dict[str, Any]) -> datetime:
        """For the task's "quiet for N days": the newest activity among the last TIMELINE
        events, else the record's creation (an upper bound when emails hide an older one)."""
        return self.events.last_activity(contact_id, contact["created_at"], TIMELINE)

    def _request(
        self,
        routing: Routing,
        contact: dict[str, Any],
        cause: Event,
        change: Change,
        now: datetime,
        days: int,
    ) -> None:
        lead = lead_of(contact)
        placed = routing.owner(str(lead["owner"])) if lead.get("owner") else None
        team = placed[0] if placed else routing.team(routing.fallback)
        to = lead.get("owner_email") if placed else (team.manager.email if team.manager else None)
        who = lead.get("owner") if placed else f"{team.id} manager"
        name = notices.display_name(contact)
        change.events.append(
            ownership.event(
                contact["id"],
                cause,
                VERIFICATION_REQUESTED,
                {"assignee": who, "to": to, "days": days},
                now,
            )
        )
        summary = {
            "name": name,
            "email": contact.get("email"),
            "phone": contact.get("phone"),
            "company": (contact.get("properties") or {}).get("company"),
            "link": None,
        }
        title = f"Check this contact, quiet for {days} days: {name}"
        out = Deliveries()
        notice = notices.notice("contact.verification_due", title, summary, days=days)
        notices.deliver(out, contact["id"], cause, "verify", notice, now, emails=[to] if to else [])
        change.effects += out.effects
        change.events += out.events
