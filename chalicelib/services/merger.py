"""Merge two contacts: one survivor keeps both timelines, attributions, scores, journeys,
keys, lists and the more restrictive consent; the other's id resolves to it from then on.

Never automatic: a person (the API, the CLI) names the survivor and the contact merged into
it, after `leadflow contacts duplicates` or their own judgement. The order of the steps is
what keeps a merge safe when it is stopped half-way or when a form arrives meanwhile: copy
the timeline, move the keys (a form for either address now finds the survivor), move the
journeys, then commit the profile, the tombstone and the event in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.contacts.survivorship import merge
from chalicelib.errors import Busy, Conflict, FieldError, FormValidationError, NotFound
from chalicelib.events import CONTACTS_MERGED, Event
from chalicelib.store import optimistic
from chalicelib.store.changes import AlreadyDone
from chalicelib.store.contacts import ContactStore
from chalicelib.store.merges import MergeStore
from chalicelib.store.optimistic import Stale
from chalicelib.store.segment_library import SegmentLibrary

SOURCE = "merge"


@dataclass(frozen=True)
class MergeReport:
    survivor: str
    merged: str
    events: int
    keys: list[str]
    enrollments: int
    enrollments_ended: int
    taken: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "survivor": self.survivor,
            "merged": self.merged,
            "events_moved": self.events,
            "keys_moved": self.keys,
            "enrollments_moved": self.enrollments,
            "enrollments_ended": self.enrollments_ended,
            "fields_taken": self.taken,
        }


class Merger:
    def __init__(
        self, contacts: ContactStore, store: MergeStore, segments: SegmentLibrary, clock: Clock
    ) -> None:
        self.contacts = contacts
        self.store = store
        self.segments = segments
        self.clock = clock

    def merge(
        self, survivor_id: str, merged_id: str, by: str, locked: Iterable[str] = ()
    ) -> MergeReport:
        """Merge `merged_id` into `survivor_id` (Conflict if that cannot be, NotFound if
        either is not a contact)."""
        survivor, other = self._pair(survivor_id, merged_id)
        fields = {*(survivor.get("properties") or {}), *(other.get("properties") or {})}
        unknown = sorted(set(locked) - fields)
        if unknown:  # a typo would leave the field meant unlocked, and its value overwritten
            there = ", ".join(sorted(fields)) or "none"
            raise FormValidationError(
                [FieldError("locked", f"neither contact has {unknown[0]!r} (they have: {there})")]
            )
        a, b = survivor["id"], other["id"]
        waiting = self.store.pending_events(b)
        if waiting:
            raise Conflict(
                f"{b} has {waiting} event(s) the pipeline has not processed yet: merge it "
                "once they are (usually within seconds)"
            )
        copied = self.store.copy_events(b, a)
        keys = [f"email:{other['email']}"] if other.get("email") else []
        keys += [f"phone:{other['phone']}"] if other.get("phone") else []
        keys += [f"visitor:{v}" for v in sorted(other.get("visitor_ids") or ())]
        moved_keys = self.store.move_keys(keys, b, a)
        now = self.clock.now()
        moved, ended = self.store.move_enrollments(b, a, now)
        self.store.move_timers(b, a)
        book = self.segments.book()
        lists = {s.id for s in book.segments.values() if s.static} if book else set()
        self.store.move_memberships(set(other.get("segments") or ()), lists, b, a, now)
        # One id for this merge, whatever the retries: a second write of it is AlreadyDone.
        event_id = ids.derived_event_id(now, SOURCE, a, b)
        for attempt in range(optimistic.ATTEMPTS):
            result = merge(survivor, other, locked)
            attributes = dict(result.attributes)
            own = set(survivor.get("segments") or ())
            attributes["segments"] = own | (set(other.get("segments") or ()) & lists) or None
            event = Event(
                contact_id=a,
                event_id=event_id,
                type=CONTACTS_MERGED,
                occurred_at=now,
                source=SOURCE,
                properties={
                    "merged": b,
                    "by": by,
                    "taken": result.taken,
                    "moved": {"events": len(copied), "keys": moved_keys, "enrollments": moved},
                },
            )
            try:
                self.store.finish(survivor, other, attributes, event, self.clock.now())
                break
            except AlreadyDone:
                break
            except Stale:
                optimistic.pause(attempt)
                survivor, other = self._pair(survivor_id, merged_id)
        else:
            raise Busy(f"{survivor_id} or {merged_id} kept changing: merge them again")
        # Events processed since the first copy (written before the keys moved) follow.
        copied = sorted(set(copied) | set(self.store.copy_events(b, a)))
        self.store.drop_events(b, copied)
        return MergeReport(a, b, len(copied), moved_keys, moved, ended, result.taken)

    def _pair(self, survivor_id: str, merged_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if survivor_id == merged_id:
            raise Conflict("a contact cannot be merged into itself")
        found = []
        for contact_id in (survivor_id, merged_id):
            contact = self.contacts.get_own(contact_id)
            if contact is None:
                raise NotFound(f"no contact {contact_id!r}")
            if contact.get("merged_into"):
                raise Conflict(f"{contact_id} was merged into {contact['merged_into']} already")
            found.append(contact)
        return found[0], found[1]
