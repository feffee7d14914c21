"""A person's rights over their data: a request is received (and due in 30 days), then
fulfilled: an export gives everything stored about the person as JSON; an erasure deletes
it from every table and the outbox and marks the person's keys so a later form post or
import does not bring them back without a new consent; a correction sets the profile fields
the person says are wrong, at once. Report counters are kept: they count days, campaigns and
owners, not people, so reports still add up."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.errors import Conflict, FieldError, FormValidationError, NotFound
from chalicelib.events import CONTACT_UPDATED, Event
from chalicelib.leads import fields as contact_fields
from chalicelib.leads import normalise
from chalicelib.messaging.mailbox import Mailbox
from chalicelib.store.changes import Change
from chalicelib.store.contacts import ContactStore
from chalicelib.store.personal_data import PersonalData, keys_of
from chalicelib.store.privacy import KINDS, PrivacyRequests, Request
from chalicelib.store.segment_library import SegmentLibrary
from chalicelib.store.writer import ContactWriter


class AlreadyDone(Conflict):
    """The request was fulfilled before: an erasure is not run twice."""


@dataclass(frozen=True)
class Subject:
    """Whom a request is about: the contact (if one is stored) and the key that names them."""

    key: str
    contact_id: str | None


@dataclass(frozen=True)
class Fulfilled:
    request: Request
    data: dict[str, Any] | None  # an export's data


class PrivacyDesk:
    def __init__(
        self,
        contacts: ContactStore,
        personal: PersonalData,
        requests: PrivacyRequests,
        segments: SegmentLibrary,
        mailbox: Mailbox | None,
        clock: Clock,
        writer: ContactWriter,
    ) -> None:
        self.writer = writer
        self.contacts = contacts
        self.personal = personal
        self.requests = requests
        self.segments = segments
        self.mailbox = mailbox
        self.clock = clock

    def subject(
        self, email: str | None = None, phone: str | None = None, region: str = "US"
    ) -> Subject:
        """The person named by an email or a phone (normalised as the forms do; a phone
        without its country code is read in `region`)."""
        try:
            if email:
                key = "email:" + normalise.email(email)
            elif phone:
                key = "phone:" + normalise.phone(phone, region)
            else:
                raise FormValidationError([FieldError("email", "give the person's email or phone")])
        except normalise.InvalidValue as exc:
            raise FormValidationError(
                [FieldError("email" if email else "phone", str(exc))]
            ) from exc
        return Subject(key, self.contacts.find_by_key(key))

    def receive(
        self, kind: str, subject: Subject, by: str, received_at: datetime | None, note: str | None
    ) -> Request:
        """Record a request as received (today unless said), due 30 days after."""
        if kind not in KINDS:
            raise FormValidationError([FieldError("kind", f"must be one of {', '.join(KINDS)}")])
        if kind == "correction":
            raise FormValidationError(
                [FieldError("fields", "a correction names the fields to set: give them")]
            )
        return self._open(kind, subject, by, received_at, note)

    def _open(
        self, kind: str, subject: Subject, by: str, received_at: datetime | None, note: str | None
    ) -> Request:
        now = self.clock.now()
        when = received_at or now
        if when > now:
            raise FormValidationError([FieldError("received_at", "must not be in the future")])
        return self.requests.open(kind, subject.key, subject.contact_id, when, by, note)

    def correct(
        self,
        subject: Subject,
        fields: Any,
        by: str,
        received_at: datetime | None,
        note: str | None,
    ) -> Fulfilled:
        """Record a correction (GDPR art. 16, PIPL art. 46) and make it at once: each profile
        field set as given (null removes it), `contact_updated` on the timeline with the
        values before. The request keeps the names of the fields, never their values."""
        wanted = contact_fields.check(fields)
        changed: list[str] = []
        if subject.contact_id:

            def decide(contact: dict[str, Any], now: datetime) -> Change:
                props = contact.get("properties") or {}
                change = Change.of(contact)
                diff = {k: v for k, v in wanted.items() if props.get(k) != v}
                change.properties.update(diff)
                changed[:] = sorted(diff)
                if diff:
                    properties = {
                        "changes": {"fields": diff},
                        "before": {k: props.get(k) for k in diff},
                        "by": "privacy:correction",
                    }
                    event_id = ids.event_id(now)
                    change.events.append(
                        Event(contact["id"], event_id, CONTACT_UPDATED, now, "privacy", properties)
                    )
                return change

            self.writer.write(subject.contact_id, decide)
        # Recorded once made: a correction that failed leaves no open request behind.
        request = self._open("correction", subject, by, received_at, note)
        done = self.requests.close(request.id, self.clock.now(), {"corrected": changed})
        return Fulfilled(done, None)

    def fulfil(self, request_id: str) -> Fulfilled:
        request = self.requests.get(request_id)
        if request is None:
            raise NotFound(f"no privacy request {request_id!r}")
        if request.status == "done":
            raise AlreadyDone(f"{request_id} was done on {request.done_at:%Y-%m-%d}")
        contact_id = request.contact_id
        if request.kind == "export":
            data = self.export(contact_id)
            counts = {table: len(items) for table, items in data.get("tables", {}).items()}
            done = self.requests.close(request_id, self.clock.now(), {"items": counts})
            return Fulfilled(done, data)
        if request.kind != "erasure":  # a correction or retention is done when recorded
            raise Conflict(f"{request_id} is a {request.kind}: it is done when it is recorded")
        counts = self.erase(contact_id, request_id) if contact_id else {}
        return Fulfilled(
            self.requests.close(request_id, self.clock.now(), {"deleted": counts}), None
        )

    def export(self, contact_id: str | None) -> dict[str, Any]:
        """Everything stored about the contact, by table (machine-readable, PIPL art. 45(3),
        GDPR art. 20); no tables when nothing is stored about the person."""
        return {
            "contact_id": contact_id,
            "exported_at": self.clock.now().isoformat(),
            "tables": self.personal.gather(contact_id) if contact_id else {},
        }

    def erase(self, contact_id: str, request_id: str) -> dict[str, int]:
        """Delete the contact everywhere and mark its keys; counts of what went, by table."""
        contact = self.contacts.get(contact_id) or {}
        keys = keys_of(contact)
        if keys:
            self.requests.mark_erased(keys, request_id, self.clock.now())
        return self._forget(contact_id, contact)

    def _forget(self, contact_id: str, contact: dict[str, Any]) -> dict[str, int]:
        book = self.segments.book()
        counts = self.personal.erase(contact_id, list(book.segments) if book else [])
        if self.mailbox is not None and contact.get("email"):
            counts["outbox"] = self.mailbox.forget(str(contact["email"]))
        return counts

    def retire(
        self, contact_id: str, contact: dict[str, Any] | None, cause_id: str
    ) -> Request | None:
        """Erase a contact the retention period has passed over, recorded as a `retention`
        request done at once; no mark is left, so the person may sign up again. The request's
        id comes from the cause, so a retry after a crash finishes the same erasure (the
        contact already gone) instead of leaving the rest behind."""
        request_id = "pr_" + hashlib.sha256(cause_id.encode()).hexdigest()[:16]
        if contact is None and self.requests.get(request_id) is None:
            return None  # erased or merged away by something else
        keys = keys_of(contact or {})
        now = self.clock.now()
        request = self.requests.open(
            "retention",
            keys[0] if keys else contact_id,
            contact_id,
            now,
            "retention",
            "no activity of their own for the retention period",
            request_id=request_id,
        )
        counts = self._forget(contact_id, contact or {})
        return self.requests.close(request.id, now, {"deleted": counts})

    def all(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        return [r.as_dict(now) for r in self.requests.all()]
