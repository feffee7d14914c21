"""An import's writes: many rows per transaction, with the job's checkpoint inside it.

Each row is its contact, the keys it claims, its `contact_imported` event and its list
memberships (with their `segment_entered` events); a transaction holds as many rows as fit in
DynamoDB's 100 items, plus the lists' size counters and the checkpoint (the last row done and
the counts so far). So a batch and the record that it was done commit together: a resumed
import starts after the last committed row and counts exactly. A row whose condition fails (a
form created the same person a moment ago, a key belongs to someone else) comes back to be
decided again on fresh data; the rest of its batch is written without it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.contacts.reconcile import Decision
from chalicelib.contacts.records import Record
from chalicelib.events import Event
from chalicelib.store import event_log as event_rows
from chalicelib.store import puts, tables
from chalicelib.store.models import (
    ContactKeyModel,
    ContactModel,
    CounterModel,
    EventModel,
    SegmentMemberModel,
)
from chalicelib.store.segments import size_key

# Built once. The key claim holds a value, so puts.put's cache missed it: building, printing
# and serializing it again for every key was a tenth of an import.
_CLAIM = puts.serialized(ContactKeyModel.key.does_not_exist() | (ContactKeyModel.contact_id == ""))
_NEW_CONTACT = puts.serialized(ContactModel.id.does_not_exist())
_NEW_EVENT = puts.serialized(event_rows.new_item_condition())

MAX_LISTS = 31
"""Lists one import may put everyone on: a row is 4 + 2 per list items, and a transaction
also holds a size counter per list and the checkpoint, within DynamoDB's 100."""


def row_items(lists: int) -> int:
    """Items one row writes at most: two keys, the contact, its event, and per list the
    membership and its `segment_entered` event."""
    return 4 + 2 * lists


def batch_items(lists: int) -> int:
    """Items a batch's rows may take: the rest is the lists' counters and the checkpoint."""
    return tables.TRANSACTION_ITEMS - 1 - lists


@dataclass
class Planned:
    """A decided row, ready to write."""

    record: Record
    decision: Decision
    contact_id: str
    version: int | None
    """The contact's version as read (None: a new contact)."""
    claims: list[str]
    """Keys this row claims for the contact (free, or already its own)."""
    events: list[Event] = field(default_factory=list)
    """Its `contact_imported` event first, then one `segment_entered` per list."""
    at: datetime | None = None
    _items: list[tables.Write] | None = field(default=None, repr=False)

    def items(self, shards: int) -> list[tables.Write]:
        if self._items is None:
            self._items = self._build(shards)
        return self._items

    def _build(self, shards: int) -> list[tables.Write]:
        d, cid, now = self.decision, self.contact_id, self.at
        out: list[tables.Write] = []
        claimed = puts.with_value(_CLAIM, cid)
        for key in self.claims:
            claim = {"key": key, "contact_id": cid, "created_at": now}
            out.append(("put", puts.put(ContactKeyModel, claim, claimed), {}))
        if self.version is None:
            out.append(("put", puts.put(ContactModel, self._new(), _NEW_CONTACT), {}))
        else:
            out.append(
                (
                    "update",
                    ContactModel(cid),
                    {"actions": self._actions(), "condition": ContactModel.version == self.version},
                )
            )
        for event in self.events:
            row = event_rows.values(event, shards)
            out.append(("put", puts.put(EventModel, row, _NEW_EVENT), {}))
        for segment in sorted(d.lists):
            member = {"segment": segment, "contact_id": cid, "entered_at": now}
            out.append(("put", puts.put(SegmentMemberModel, member), {}))
        return out

    def _new(self) -> dict[str, Any]:
        d = self.decision
        event = self.events[0]
        touch = {"channel": "import", "source": d.fields.get("source") or "import"}
        return {
            "id": self.contact_id,
            "email": d.email,
            "phone": d.phone,
            "properties": dict(d.fields),
            "first_touch": touch,
            "last_touch": touch,
            "consents": d.consents,
            "created_at": self.at,
            "updated_at": self.at,
            "created_by_event": event.event_id,
            "submissions": 0,
            "tags": set(d.tags) or None,
            "segments": set(d.lists) or None,
            "version": 1,
        }

    def _actions(self) -> list[Any]:
        d, c = self.decision, ContactModel
        actions: list[Any] = [c.version.add(1), c.updated_at.set(self.at)]
        actions += [c.properties[k].set(v) for k, v in d.fields.items()]
        actions += [c.consents[t].set(r) for t, r in d.consents.items()]
        if d.tags:
            actions.append(c.tags.add(set(d.tags)))
        if d.lists:
            actions.append(c.segments.add(set(d.lists)))
        if d.phone:
            actions.append(c.phone.set(d.phone))
        if d.email:
            actions.append(c.email.set(d.email))
        return actions


@dataclass
class Checkpoint:
    row: int = 1
    counts: Counter[str] = field(default_factory=Counter)

    def dumps(self) -> str:
        return json.dumps({"row": self.row, "counts": dict(self.counts)})


def checkpoint_key(job: str) -> str:
    return f"import#{job}"


class ImportStore:
    def __init__(self, shards: int) -> None:
        self.shards = shards

    def owners(self, keys: Sequence[str]) -> dict[str, str]:
        """Key -> the contact it belongs to, for the keys that belong to one."""
        wanted = sorted({k for k in keys if tables.can_be_key(k)})
        return {
            m.key: m.contact_id for m in ContactKeyModel.batch_get(wanted, consistent_read=True)
        }

    def resume_point(self, job: str) -> Checkpoint:
        try:
            item = CounterModel.get(checkpoint_key(job), consistent_read=True)
        except DoesNotExist:
            return Checkpoint()
        saved = json.loads(item.cursor or "{}")
        return Checkpoint(int(saved.get("row", 1)), Counter(saved.get("counts") or {}))

    def finish(self, job: str) -> None:
        CounterModel(checkpoint_key(job)).delete()

    def commit(self, job: str, rows: list[Planned], done: Checkpoint | None) -> list[Planned]:
        """Write the rows and the checkpoint `done` (which counts them) in one transaction;
        without `done`, the rows alone (the caller has more to write before the checkpoint).
        If a row's condition fails, the others are written one by one and the checkpoint
        alone, and the rows that failed come back to be decided again (the caller saves the
        checkpoint again once they are). Anything but a failed condition (throttling, an
        outage, an item too large) is raised: the run stops and resumes from the checkpoint."""
        items = self._items(job, rows, done)
        if not items:
            return []
        try:
            tables.transact(items)
            return []
        except TransactWriteError as exc:
            _raise_unless_a_condition(exc)
        failed = [planned for planned in rows if not self.commit_one(planned)]
        if not failed and done is not None:
            self.save(job, done)
        return failed

    def commit_one(self, planned: Planned) -> bool:
        """One row alone; False if a condition failed (decide it again on fresh data)."""
        try:
            tables.transact(self._items("", [planned], None))
        except TransactWriteError as exc:
            _raise_unless_a_condition(exc)
            return False
        return True

    def save(self, job: str, done: Checkpoint) -> None:
        CounterModel(checkpoint_key(job), cursor=done.dumps()).save()

    def _items(self, job: str, chunk: list[Planned], done: Checkpoint | None) -> list[tables.Write]:
        items: list[tables.Write] = []
        joined: Counter[str] = Counter()
        for planned in chunk:
            items += planned.items(self.shards)
            joined.update(planned.decision.lists)
        for segment, n in sorted(joined.items()):
            items.append(
                (
                    "update",
                    CounterModel(size_key(segment)),
                    {"actions": [CounterModel.value.add(n)]},
                )
            )
        if done is not None:
            items.append(("save", CounterModel(checkpoint_key(job), cursor=done.dumps()), {}))
        return items


def _raise_unless_a_condition(exc: TransactWriteError) -> None:
    """A cancellation because a row's condition failed (or another writer touched its
    items) is the row's to decide again; anything else is not the row's fault."""
    reasons = exc.cancellation_reasons or []
    codes = {getattr(r, "code", None) for r in reasons if r is not None}
    if not reasons or codes - {"ConditionalCheckFailed", "TransactionConflict", "None", None}:
        raise exc
