"""Opens and clicks: signed tokens in, timeline events out, and the one URL a click may reach.

A click token names the contact, the email_sent event and the link's position. The URL comes
from that event's recorded links, so a token (even a genuine one) can only lead to a URL
that was in the email that person was sent. The events carry the send's journey and step,
so `wait_for: email_clicked where step: ...` and branches see them.

Every open and click is kept, but only the first open of an email and the first click of
each of its links carry `unique: true`: mail programs fetch images again and people click
twice, and scoring and reports count people's interest, not fetches.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.errors import Busy, LeadflowError
from chalicelib.events import EMAIL_CLICKED, EMAIL_OPENED, EMAIL_SENT, Event
from chalicelib.messaging.tokens import BadToken, Signer
from chalicelib.store import counters
from chalicelib.store import event_log as event_rows
from chalicelib.store.event_log import EventStore

SOURCE = "email"
# How long an email's open and click counters are kept: past it, a click is "first" again.
COUNTERS_KEPT = timedelta(days=400)
_CARRIED = (
    "journey",
    "version",
    "enrollment",
    "step",
    "template",
    "topic",
    "subject",
    "broadcast",
    "variant",
    "campaign",
)

log = logging.getLogger(__name__)


class InvalidToken(LeadflowError):
    status = 400
    code = "invalid_token"


def link_fields(signer: Signer, purpose: str, token: str, arity: int) -> list[str]:
    """The fields of a genuine link token, as an HTTP 400 when it is not one."""
    try:
        fields = signer.verify(purpose, token)
    except BadToken as exc:
        raise InvalidToken(f"this {purpose} link is not valid: {exc}") from exc
    if len(fields) != arity:
        raise InvalidToken(f"this {purpose} link is not valid")
    return fields


class Engagement:
    def __init__(self, signer: Signer, events: EventStore, clock: Clock) -> None:
        self.signer = signer
        self.events = events
        self.clock = clock

    def _sent(self, purpose: str, token: str, arity: int) -> tuple[list[str], dict[str, Any]]:
        fields = link_fields(self.signer, purpose, token, arity)
        item = self.events.get(fields[0], fields[1])
        if item is None or item.type != EMAIL_SENT:
            raise InvalidToken(f"this {purpose} link names no email that was sent")
        return fields, event_rows.from_model(item).properties

    def _record(
        self, contact_id: str, sent_id: str, kind: str, sent: dict, extra: dict, counter: str
    ) -> None:
        now = self.clock.now()
        event_id = ids.event_id(now)
        props = {k: sent[k] for k in _CARRIED if sent.get(k) is not None}

        def event(first: bool) -> Event:
            return Event(
                contact_id=contact_id,
                event_id=event_id,
                type=kind,
                occurred_at=now,
                source=SOURCE,
                properties={**props, "email": sent_id, **extra, "unique": first},
                caused_by=sent_id,
            )

        self.events.append_counted(counter, event, now + COUNTERS_KEPT)

    def click(self, token: str) -> str:
        """Record the click and return where it goes: a URL that was in the email sent."""
        (contact_id, sent_id, position), sent = self._sent("click", token, 3)
        links = sent.get("links") or []
        if not (position.isascii() and position.isdigit()) or int(position) >= len(links):
            raise InvalidToken("this click link names no link of the email that was sent")
        url = str(links[int(position)])
        counter = counters.clicks_key(sent_id, int(position))
        try:
            self._record(contact_id, sent_id, EMAIL_CLICKED, sent, {"url": url}, counter)
        except Busy:  # the person still goes where they clicked; only the count waits
            log.warning("click on %s not recorded: its counter stayed contended", sent_id)
        return url

    def open(self, token: str, machine: bool = False) -> None:
        """Record an open; a machine's (a privacy proxy, a scanner) is marked and counted
        apart, so it never takes the reader's first open."""
        (contact_id, sent_id), sent = self._sent("open", token, 2)
        counter = counters.opens_key(sent_id) + ("#machine" if machine else "")
        extra = {"machine": True} if machine else {}
        self._record(contact_id, sent_id, EMAIL_OPENED, sent, extra, counter)
