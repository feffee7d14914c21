"""Use case: a website tracks an event (page view, download, custom) for a person or visitor."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.errors import FieldError, FormValidationError
from chalicelib.events import CATALOGUE, FILE_DOWNLOADED, PAGE_VIEWED, PURCHASE, Event
from chalicelib.leads import attribution, normalise
from chalicelib.leads.identity import (
    CLIENT_KEY,
    CLIENT_KEY_RULE,
    VISITOR_ID,
    VISITOR_ID_RULE,
    Identity,
    visitor_partition,
)
from chalicelib.leads.intake import Intake, idempotency_scope, payload_fingerprint
from chalicelib.store.contacts import ContactStore
from chalicelib.store.event_log import EventStore

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
# What Leadflow records itself; a website may send only its own events and these two.
SYSTEM_EVENTS = frozenset(CATALOGUE) - {PAGE_VIEWED, FILE_DOWNLOADED, PURCHASE}
SYSTEM_PREFIXES = ("email_", "journey_", "handoff_")
# Fields a tracker sends as strings; anything else (a number, an object, null) is refused.
TEXT_FIELDS = (
    "type",
    "event",
    "email",
    "phone",
    "visitor_id",
    "page_url",
    "referrer",
    "occurred_at",
    "event_id",
)
MAX_PROPERTIES = 50
# DynamoDB refuses an item nested more than 32 levels deep; the event and its map take some.
MAX_PROPERTY_DEPTH = 8
MAX_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Tracked:
    event_id: str
    contact_id: str
    anonymous: bool
    replayed: bool = False


def _check(
    body: dict[str, Any], now: datetime, region: str
) -> tuple[str, Identity, dict, datetime, str | None]:
    errors: list[FieldError] = [
        FieldError(key, "must be text")
        for key in TEXT_FIELDS
        if key in body and not isinstance(body[key], str)
    ]
    body = {k: v for k, v in body.items() if k not in TEXT_FIELDS or isinstance(v, str)}
    name = str(body.get("type") or body.get("event") or "")
    if not _NAME.match(name):
        errors.append(FieldError("type", "must be a snake_case event name like page_viewed"))
    elif name in SYSTEM_EVENTS or name.startswith(SYSTEM_PREFIXES):
        errors.append(FieldError("type", f"{name} is recorded by Leadflow itself"))
    email = phone = visitor = None
    try:
        email = normalise.email(str(body["email"])) if "email" in body else None
    except normalise.InvalidValue as exc:
        errors.append(FieldError("email", str(exc)))
    try:
        phone = normalise.phone(str(body["phone"]), region) if body.get("phone") else None
    except normalise.InvalidValue as exc:
        errors.append(FieldError("phone", str(exc)))
    if "visitor_id" in body:
        visitor = str(body["visitor_id"])
        if not VISITOR_ID.match(visitor):
            errors.append(FieldError("visitor_id", VISITOR_ID_RULE))
    if not (email or phone or visitor) and not errors:
        errors.append(FieldError("visitor_id", "an email, a phone or a visitor_id is required"))
    props = body.get("properties", {})
    if not isinstance(props, dict):
        errors.append(FieldError("properties", "must be an object"))
        props = {}
    elif len(props) > MAX_PROPERTIES:
        errors.append(FieldError("properties", f"at most {MAX_PROPERTIES} properties"))
    elif _depth(props) > MAX_PROPERTY_DEPTH:
        errors.append(FieldError("properties", f"nested more than {MAX_PROPERTY_DEPTH} levels"))
    occurred = now
    if "occurred_at" in body:
        try:
            occurred = datetime.fromisoformat(str(body["occurred_at"]).replace("Z", "+00:00"))
            occurred = occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC)
            if occurred > now + MAX_SKEW:
                errors.append(FieldError("occurred_at", "is in the future"))
        except ValueError:
            errors.append(FieldError("occurred_at", "is not an ISO 8601 time"))
    key = str(body["event_id"]) if body.get("event_id") else None
    if key and not CLIENT_KEY.match(key):
        errors.append(FieldError("event_id", CLIENT_KEY_RULE))
    if errors:
        raise FormValidationError(errors)
    return name, Identity(email, phone, visitor), props, occurred, key


def track(
    body: dict[str, Any],
    referer: str | None,
    *,
    origin: str | None = None,
    clock: Clock,
    contacts: ContactStore,
    events: EventStore,
    phone_region: str = "US",
) -> Tracked:
    now = clock.now()
    name, identity, props, occurred, key = _check(body, now, phone_region)
    touch = attribution.touch(
        {k: body[k] for k in attribution.TOUCH_FIELDS if body.get(k)}, referer, occurred
    )
    # A client's key is unique per site (not per event type): one key, one event.
    scoped = f"{idempotency_scope('events', '-', origin)}:{key}" if key else None
    event_id = ids.derived_event_id(occurred, "client", scoped) if scoped else None
    event_id = event_id or ids.event_id(occurred)
    fingerprint = payload_fingerprint(body) if key else None
    properties = {**props}
    if touch.get("landing_page"):
        properties.setdefault("url", touch["landing_page"])
    if identity.primary is None:
        event = Event(
            contact_id="",
            event_id=event_id,
            type=name,
            occurred_at=occurred,
            source="api:events",
            properties=properties,
            touch=touch,
        )
        visitor = identity.visitor_id or ""
        return _track_visitor(visitor, event, scoped, fingerprint, now, contacts, events)
    if identity.visitor_id:
        properties.update(visitor_id=identity.visitor_id, identifies_visitor=True)
    recorded = contacts.record(
        Intake(
            identity=identity,
            event_type=name,
            event_id=event_id,
            occurred_at=occurred,
            source="api:events",
            event_properties=properties,
            touch=touch,
            idempotency_key=scoped,
            fingerprint=fingerprint,
            key_field="event_id",
            response={"event_id": event_id},
        )
    )
    return Tracked(
        recorded.response.get("event_id", event_id), recorded.contact_id, False, recorded.replayed
    )


def _track_visitor(
    visitor_id: str,
    event: Event,
    key: str | None,
    fingerprint: str | None,
    now: datetime,
    contacts: ContactStore,
    events: EventStore,
) -> Tracked:
    """A known visitor's event goes straight to its contact; an unknown one waits anonymous.
    A client key makes it once, even when the retry comes later (its record is kept)."""
    owner = contacts.find_by_key(visitor_partition(visitor_id))
    partition = owner or visitor_partition(visitor_id)
    event = replace(
        event, contact_id=partition, properties={**event.properties, "visitor_id": visitor_id}
    )
    if key is None:
        fresh, event_id = events.append(event), event.event_id
    else:
        fresh, event_id = events.append_keyed(event, key, fingerprint, "event_id", now)
    return Tracked(event_id, partition, owner is None, replayed=not fresh)


def _depth(value: Any) -> int:
    """How many objects and lists deep `value` goes (a scalar is 0)."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0
