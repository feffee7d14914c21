"""What an imported record does to the contact it matches (pure): create it, update it,
leave it unchanged, or skip it, and exactly which attributes change.

The dry run and the real run both decide here, so they print the same counts. Consent is
never taken away or given back by a file: an import records a topic's consent only where the
contact has no record for it yet, because a spreadsheet is older than the unsubscribe a
person clicked yesterday (Mautic #5495 mixed them, and people who had agreed to nothing got
email).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chalicelib.contacts.records import Record


class OnExisting(StrEnum):
    UPDATE = "update"
    """The file's non-empty values replace the contact's."""
    SKIP = "skip"
    """A contact that exists is left as it is."""
    FILL_EMPTY = "fill-empty"
    """Only fields the contact lacks are filled."""


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Consent:
    topics: tuple[str, ...]
    source: str
    at: str


@dataclass
class Decision:
    action: Action
    fields: dict[str, str] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    lists: set[str] = field(default_factory=set)
    consents: dict[str, dict[str, Any]] = field(default_factory=dict)
    phone: str | None = None
    email: str | None = None

    @property
    def changed(self) -> list[str]:
        names = sorted(self.fields)
        names += ["tags"] if self.tags else []
        names += ["segments"] if self.lists else []
        names += [f"consents.{t}" for t in sorted(self.consents)]
        names += [n for n, v in (("phone", self.phone), ("email", self.email)) if v]
        return names


def decide(
    record: Record,
    contact: dict[str, Any] | None,
    mode: OnExisting,
    lists: frozenset[str] = frozenset(),
    consent: Consent | None = None,
) -> Decision:
    """The change this record makes; `contact` is what is stored now (None: nobody yet)."""
    grants = _consents(record, consent, {} if contact is None else contact.get("consents") or {})
    if contact is None:
        return Decision(
            Action.CREATE,
            dict(record.fields),
            set(record.tags),
            set(lists),
            grants,
            record.phone,
            record.email,
        )
    if mode is OnExisting.SKIP:
        return Decision(Action.SKIPPED)
    current = contact.get("properties") or {}
    if mode is OnExisting.FILL_EMPTY:
        fields = {k: v for k, v in record.fields.items() if current.get(k) in (None, "")}
    else:
        fields = {k: v for k, v in record.fields.items() if current.get(k) != v}
    decision = Decision(
        Action.UPDATE,
        fields,
        set(record.tags) - set(contact.get("tags") or ()),
        set(lists) - set(contact.get("segments") or ()),
        grants,
    )
    phone = contact.get("phone")
    if record.phone and record.phone != phone and (mode is OnExisting.UPDATE or not phone):
        decision.phone = record.phone
    if record.email and not contact.get("email"):
        decision.email = record.email
    if not decision.changed:
        decision.action = Action.UNCHANGED
    return decision


def _consents(
    record: Record, consent: Consent | None, current: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    if record.consent is None or consent is None:
        return {}
    record_of = {"granted": record.consent, "at": consent.at, "source": consent.source}
    return {t: dict(record_of) for t in consent.topics if t not in current}


def applied(contact: dict[str, Any] | None, record: Record, decision: Decision) -> dict[str, Any]:
    """The contact as it will be after the decision: what a later row of the same file (or
    the dry run, which writes nothing) must compare against."""
    after = dict(contact or {"email": record.email, "phone": None, "consents": {}})
    after["properties"] = {**(after.get("properties") or {}), **decision.fields}
    after["tags"] = set(after.get("tags") or ()) | decision.tags
    after["segments"] = set(after.get("segments") or ()) | decision.lists
    after["consents"] = {**(after.get("consents") or {}), **decision.consents}
    if decision.phone:
        after["phone"] = decision.phone
    if decision.email:
        after["email"] = decision.email
    return after
