"""Contact timers: deadlines that become timeline events when they are due.

An SLA, a follow-up reminder, score decay and "no activity for N days" rules all wait on a
timer. The tick reads only the sparse due index (never the contacts), and turns each due timer
into its event with an id derived from the timer and its due time, deleting the timer in the
same transaction: a timer fires once however many ticks overlap, and one that was moved or
cancelled meanwhile does not fire at all.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib import ids
from chalicelib.events import Event
from chalicelib.store import event_log as event_rows
from chalicelib.store import tables
from chalicelib.store.models import TimerModel

if TYPE_CHECKING:
    from chalicelib.store.changes import Timer

SOURCE = "timer"


def pending(set_for: str | None, now: datetime) -> datetime | None:
    """When a timer the contact records as due at `set_for` fires, if that is still to come.
    A time already past says nothing: that timer fired (or its event was parked)."""
    if set_for is None:
        return None
    at = datetime.fromisoformat(set_for)
    return at if at > now else None


def due_shard(contact_id: str, name: str, shards: int) -> str:
    return f"t{zlib.crc32(f'{contact_id}|{name}'.encode()) % shards}"


def to_model(contact_id: str, timer: Timer, now: datetime, shards: int) -> TimerModel:
    return TimerModel(
        contact_id=contact_id,
        name=timer.name,
        event=timer.event,
        due_at=timer.due_at,
        due_shard=due_shard(contact_id, timer.name, shards),
        properties=timer.properties,
        created_at=now,
    )


def fired_event(item: TimerModel) -> Event:
    return Event(
        contact_id=item.contact_id,
        event_id=ids.derived_event_id(item.due_at, item.contact_id, item.name, "timer"),
        type=item.event,
        occurred_at=item.due_at,
        source=SOURCE,
        properties={**(tables.plain(item.properties) or {}), "timer": item.name},
    )


@dataclass
class FireReport:
    due: int = 0
    fired: int = 0


class TimerStore:
    def __init__(self, shards: int, event_shards: int) -> None:
        self.shards = shards
        self.event_shards = event_shards

    def get(self, contact_id: str, name: str) -> TimerModel | None:
        try:
            return TimerModel.get(contact_id, name, consistent_read=True)
        except TimerModel.DoesNotExist:
            return None

    def set_if_absent(self, contact_id: str, timer: Timer, now: datetime) -> bool:
        """Set the timer unless the contact has one of that name (one conditional write, no
        read); False if it had."""
        try:
            to_model(contact_id, timer, now, self.shards).save(
                condition=TimerModel.name.does_not_exist()
            )
        except PutError:
            return False
        return True

    def for_contact(self, contact_id: str) -> list[TimerModel]:
        return list(TimerModel.query(contact_id, consistent_read=True))

    def due(self, now: datetime) -> Iterator[TimerModel]:
        for shard in range(self.shards):
            yield from TimerModel.due.query(f"t{shard}", TimerModel.due_at <= now)

    def fire_due(self, now: datetime) -> FireReport:
        report = FireReport()
        for item in self.due(now):
            report.due += 1
            report.fired += self.fire(item)
        return report

    def fire(self, item: TimerModel) -> bool:
        """Delete the timer and append its event, if it is still set for this time."""
        event = fired_event(item)
        try:
            tables.transact(
                [
                    (
                        "delete",
                        TimerModel(item.contact_id, item.name),
                        {"condition": TimerModel.due_at == item.due_at},
                    ),
                    (
                        "save",
                        event_rows.to_model(event, self.event_shards),
                        {"condition": event_rows.new_item_condition()},
                    ),
                ]
            )
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if any(tables.condition_failed(r) for r in reasons) or tables.conflicted(reasons):
                return False  # moved, cancelled, or fired by an overlapping tick
            raise
        return True
