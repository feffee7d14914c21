"""A lead's ownership as the contact records it (`contact.lead`), and its events. Pure.

Statuses: `assigned` (waiting to be accepted within the SLA), `accepted` (being worked),
`pool` (nobody could take it: the shared pool, 公海), and the closed ones: `disqualified`,
`won`, `lost`. Only open leads count against an owner's capacity.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.events import LEAD_FOLLOW_UP_DUE, LEAD_SLA_EXPIRED, Event

ASSIGNED = "assigned"
ACCEPTED = "accepted"
POOL = "pool"
DISQUALIFIED = "disqualified"
WON = "won"
LOST = "lost"
OPEN = frozenset({ASSIGNED, ACCEPTED})
CLOSED = frozenset({DISQUALIFIED, WON, LOST})
STATUSES = (ASSIGNED, ACCEPTED, POOL, DISQUALIFIED, WON, LOST)
SOURCE = "sales"
SLA_TIMER = "lead-sla"
SLA_EXPIRED = LEAD_SLA_EXPIRED
FOLLOW_UP_TIMER = "lead-follow-up"
FOLLOW_UP_DUE = LEAD_FOLLOW_UP_DUE
ACCEPT_PURPOSE = "lead"
"""An accept link: it accepts the lead for the owner it was signed for. The team's chat cards
and webhooks carry this one."""
OWNER_PURPOSE = "lead-owner"
"""The owner's own link, in their email only: it also gives the lead back. The sender signs
it as it sends (`OWN_LINK_FOR` in the email's context), so no stored event holds it."""
OWN_LINK_FOR = "own_link_for"
"""An internal email's context key: the owner whose own link becomes `lead.link`."""


def lead_of(contact: Mapping[str, Any]) -> dict[str, Any]:
    lead = contact.get("lead") or {}
    return dict(lead.as_dict() if hasattr(lead, "as_dict") else lead)


def is_open(contact: Mapping[str, Any]) -> bool:
    return lead_of(contact).get("status") in OPEN


def event(
    contact_id: str,
    cause: Event,
    kind: str,
    properties: dict[str, Any],
    now: datetime,
    salt: str = "",
) -> Event:
    """A sales event whose id derives from its cause (its id and time, never the clock), so
    a re-run after a crash derives the same id and the store refuses the second copy."""
    return Event(
        contact_id=contact_id,
        event_id=ids.effect_event_id(cause.event_id, cause.occurred_at, kind, salt),
        type=kind,
        occurred_at=now,
        source=SOURCE,
        properties=properties,
        caused_by=cause.event_id,
    )
