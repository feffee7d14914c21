"""SES feedback: bounces and complaints become suppressions and timeline events.

SES publishes a notification per message (through SNS, see api/email.py); each names its
recipients. A permanent bounce or a complaint suppresses the address for good; a transient
bounce is only recorded. Deliveries are recorded too, so a timeline shows the whole trip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.events import EMAIL_BOUNCED, EMAIL_COMPLAINED, EMAIL_DELIVERED, Event
from chalicelib.leads import normalise
from chalicelib.store.contacts import ContactStore
from chalicelib.store.event_log import EventStore
from chalicelib.store.subscriptions import SubscriptionStore

SOURCE = "ses"


@dataclass(frozen=True)
class SesNotice:
    """One recipient's fate in one SES notification."""

    address: str
    event_type: str
    suppress: str | None
    detail: str
    message_id: str
    at: str = ""
    tags: tuple[tuple[str, str], ...] = ()


def notices(notification: dict[str, Any]) -> list[SesNotice]:
    """The recipients an SES notification (or configuration-set event) is about."""
    kind = str(notification.get("notificationType") or notification.get("eventType") or "")
    mail = notification.get("mail") or {}
    message_id = str(mail.get("messageId") or "")
    body = notification.get(kind.lower()) or {}
    at = str(body.get("timestamp") or mail.get("timestamp") or "")
    out: list[SesNotice] = []
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        permanent = bounce.get("bounceType") == "Permanent"
        detail = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
        for r in bounce.get("bouncedRecipients") or []:
            reason = f"{detail}: {r.get('diagnosticCode') or r.get('status') or ''}".strip(": ")
            out.append(
                SesNotice(
                    str(r.get("emailAddress", "")),
                    EMAIL_BOUNCED,
                    "hard_bounce" if permanent else None,
                    reason,
                    message_id,
                )
            )
    elif kind == "Complaint":
        complaint = notification.get("complaint") or {}
        detail = str(complaint.get("complaintFeedbackType") or "complaint")
        for r in complaint.get("complainedRecipients") or []:
            out.append(
                SesNotice(
                    str(r.get("emailAddress", "")),
                    EMAIL_COMPLAINED,
                    "complaint",
                    detail,
                    message_id,
                )
            )
    elif kind == "Delivery":
        for address in (notification.get("delivery") or {}).get("recipients") or []:
            out.append(SesNotice(str(address), EMAIL_DELIVERED, None, "", message_id))
    tags = _tags(mail.get("tags"))
    return [replace(n, at=at, tags=tags) for n in out if n.address]


# The message tags the sender sets (services/sender.py) that reports count deliveries under.
TAGGED = ("journey", "step", "campaign", "broadcast", "template")


def _tags(raw: Any) -> tuple[tuple[str, str], ...]:
    """SES event publishing repeats the message's tags (name -> [value]) on every event:
    they say which journey, step, broadcast and template a delivery or bounce belongs to."""
    if not isinstance(raw, dict):
        return ()
    found = []
    for name in TAGGED:
        values = raw.get(name)
        value = values[0] if isinstance(values, list) and values else None
        if isinstance(value, str) and value and value != "none":
            found.append((name, value))
    return tuple(found)


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


class Feedback:
    def __init__(
        self,
        contacts: ContactStore,
        events: EventStore,
        subscriptions: SubscriptionStore,
        clock: Clock,
    ) -> None:
        self.contacts = contacts
        self.events = events
        self.subscriptions = subscriptions
        self.clock = clock

    def apply(self, notification: dict[str, Any] | str) -> list[SesNotice]:
        data = json.loads(notification) if isinstance(notification, str) else notification
        found = notices(data)
        for notice in found:
            now = _when(notice.at) or self.clock.now()
            try:
                address = normalise.email(notice.address)
            except normalise.InvalidValue:
                address = notice.address.strip().lower()
            contact_id = self.contacts.find_by_key(f"email:{address}")
            if notice.suppress:
                self.subscriptions.suppress(
                    address, notice.suppress, notice.detail, contact_id, now
                )
            if contact_id is None:
                continue
            props = {
                **dict(notice.tags),
                "to": address,
                "message_id": notice.message_id,
                "detail": notice.detail,
            }
            if notice.suppress:
                props["suppressed"] = notice.suppress
            self.events.append(
                Event(
                    contact_id=contact_id,
                    # One event per message, recipient and kind, however often SNS retries:
                    # the id derives from SES's own timestamp, not from when it reached us.
                    event_id=ids.derived_event_id(
                        now, notice.message_id, address, notice.event_type
                    ),
                    type=notice.event_type,
                    occurred_at=now,
                    source=SOURCE,
                    properties=props,
                )
            )
        return found
