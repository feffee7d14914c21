"""An inbound fact about a person, and how it merges into the contact's profile (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from chalicelib.consent import purpose_key
from chalicelib.leads.identity import Identity


@dataclass(frozen=True)
class Quota:
    """A limit the write must fit under, counted in the same transaction (so a refused
    request stores nothing and costs no extra call): the counter's key, its maximum, when
    its item may go, and the refusal to raise when it is full."""

    key: str
    max: int
    expires_at: datetime
    refusal: Exception | None


@dataclass(frozen=True)
class Intake:
    """Who it is about, the event to append, and what (if anything) the profile learns."""

    identity: Identity
    event_type: str
    event_id: str
    occurred_at: datetime
    source: str
    event_properties: dict[str, Any] = field(default_factory=dict)
    touch: dict[str, Any] | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, Any] | None = None
    is_submission: bool = False
    idempotency_key: str | None = None
    fingerprint: str | None = None
    """Of the request's payload: a key reused with another payload is refused, not replayed."""
    key_field: str = "Idempotency-Key"
    """Where the client sent its key (a header, or the body's event_id): errors name it."""
    response: dict[str, Any] = field(default_factory=dict)
    quota: Quota | None = None

    @property
    def updates_profile(self) -> bool:
        return bool(self.profile or self.consent or self.is_submission)


def payload_fingerprint(payload: Mapping[str, Any]) -> str:
    """A digest of what the client sent, independent of key order."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def idempotency_scope(kind: str, owner: str, origin: str | None) -> str:
    """Where a client's key is unique: per form (or /events) and per site that posted it, so
    two forms or two sites that happen to pick the same key never share an answer."""
    try:
        site = (urlsplit(origin).hostname or "") if origin else ""
    except ValueError:  # `http://[oops`: not a site we can name
        site = ""
    return f"{kind}:{owner}:{site or '-'}"


def new_contact(contact_id: str, intake: Intake) -> dict[str, Any]:
    """The first version of a contact; its first touch is this intake's touch, for good."""
    ident = intake.identity
    return {
        "id": contact_id,
        "email": ident.email,
        "phone": ident.phone,
        "properties": dict(intake.profile),
        "first_touch": intake.touch,
        "last_touch": intake.touch,
        "consents": _consents({}, intake.consent),
        "visitor_ids": {ident.visitor_id} if ident.visitor_id else None,
        "created_at": intake.occurred_at,
        "updated_at": intake.occurred_at,
        "created_by_event": intake.event_id,
        "submissions": 1 if intake.is_submission else 0,
        "version": 1,
    }


@dataclass(frozen=True)
class ProfileMerge:
    """What one intake changes on an existing contact, as per-attribute writes that commute:
    posts of one person racing each other all land, none has to win the contact's version."""

    latest: dict[str, Any]
    """Attributes where the latest intake wins (phone, last touch, updated_at)."""
    first: dict[str, Any]
    """Attributes set only when still missing (email, first touch)."""
    properties: dict[str, Any]
    """Profile fields, latest wins field by field."""
    consents: dict[str, Any]
    """Topic -> consent record granted by this intake; other topics are untouched."""
    visitor_id: str | None
    submissions: int


def profile_merge(intake: Intake) -> ProfileMerge:
    """Latest value wins for profile fields; first touch and consents already given stay."""
    ident = intake.identity
    latest: dict[str, Any] = {"updated_at": intake.occurred_at}
    if ident.phone:
        latest["phone"] = ident.phone
    if intake.touch:
        latest["last_touch"] = intake.touch
    first = {k: v for k, v in (("email", ident.email), ("first_touch", intake.touch)) if v}
    return ProfileMerge(
        latest=latest,
        first=first,
        properties=dict(intake.profile),
        consents=_consents({}, intake.consent),
        visitor_id=ident.visitor_id,
        submissions=1 if intake.is_submission else 0,
    )


def _consents(current: dict[str, Any], grant: dict[str, Any] | None) -> dict[str, Any]:
    """A form that was not ticked grants nothing and withdraws nothing."""
    if not grant:
        return dict(current)
    record = {k: v for k, v in grant.items() if k not in ("topics", "purposes") and v is not None}
    topics = {topic: {"granted": True, **record} for topic in grant.get("topics") or ()}
    purposes = {
        purpose_key(purpose): {"granted": True, **{k: v for k, v in given.items() if v}}
        for purpose, given in (grant.get("purposes") or {}).items()
    }
    return {**current, **topics, **purposes}
