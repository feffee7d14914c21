"""The events table: append, read a timeline, and find what the pipeline has not processed."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib import ids, timeline
from chalicelib.errors import Busy
from chalicelib.events import Event, is_activity
from chalicelib.store import idempotency, optimistic, tables, typed
from chalicelib.store.models import CounterModel, EventModel, IdempotencyModel


def pending_shard(contact_id: str, shards: int) -> str:
    return f"p{zlib.crc32(contact_id.encode()) % shards}"


def to_model(event: Event, shards: int) -> EventModel:
    return EventModel(**values(event, shards))


def values(event: Event, shards: int) -> dict[str, Any]:
    """The attributes of a new event's item."""
    return {
        "contact_id": event.contact_id,
        "event_id": event.event_id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "source": event.source,
        "properties": event.properties,
        "touch": event.touch,
        "caused_by": event.caused_by,
        "pending_shard": pending_shard(event.contact_id, shards),
    }


def from_model(item: EventModel) -> Event:
    return _event(typed.model_values(item))


def from_item(item: typed.Item) -> Event:
    """`from_model(EventModel.from_raw_data(item))`, without building the model: a contact's
    timeline is read by most handlers of every event."""
    return _event(typed.values(EventModel, item))


def _event(v: dict[str, Any]) -> Event:
    return Event(
        contact_id=v["contact_id"],
        event_id=v["event_id"],
        type=v["type"],
        occurred_at=v["occurred_at"],
        source=v["source"],
        properties=v["properties"] or {},
        touch=v["touch"],
        caused_by=v["caused_by"],
    )


def new_item_condition() -> Condition:
    return EventModel.event_id.does_not_exist()


class EventStore:
    def __init__(self, shards: int) -> None:
        self.shards = shards

    def append(self, event: Event) -> bool:
        """Append once: False when an event with this id is already on the timeline."""
        try:
            to_model(event, self.shards).save(condition=new_item_condition())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def append_keyed(
        self, event: Event, key: str, fingerprint: str | None, field: str, now: datetime
    ) -> tuple[bool, str]:
        """Append once per client key, with the key's record in the same transaction: a
        retry finds the first event (False and its id), the key with another payload is
        refused. For events that are on no contact yet (an anonymous visitor's)."""
        claim = idempotency.record(key, {"event_id": event.event_id}, fingerprint, now)
        try:
            tables.transact(
                [
                    ("save", to_model(event, self.shards), {"condition": new_item_condition()}),
                    (
                        "save",
                        claim,
                        {"condition": idempotency.claim_condition(), "return_values": ALL_OLD},
                    ),
                ]
            )
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if len(reasons) == 2 and tables.condition_failed(reasons[1]):
                first = IdempotencyModel.from_raw_data(reasons[1].raw_item)
                answer = idempotency.first_answer(first, fingerprint, field)
                return False, str(answer.get("event_id") or event.event_id)
            if reasons and tables.condition_failed(reasons[0]):
                return False, event.event_id  # the key's record expired; the event is there
            raise
        return True, event.event_id

    def append_counted(
        self, counter: str, make: Callable[[bool], Event], expires_at: datetime | None = None
    ) -> bool:
        """Count one more of something and append its event, atomically; `make(first)` builds
        the event, told whether this is the first the counter ever counted. True if it was.

        The first-ness is decided by a condition on the counter inside the transaction, so
        two racing requests cannot both be first, and neither event can be lost. A counter
        with `expires_at` is deleted by DynamoDB's TTL after that time."""
        first = True
        for n in range(optimistic.ATTEMPTS):
            if n:  # racing counters of one email spread out
                optimistic.pause(n - 1)
            count = [CounterModel.value.add(1)]
            if expires_at is not None:
                count.append(CounterModel.expires_at.set(expires_at))
            condition = CounterModel.key.does_not_exist() if first else None
            try:
                tables.transact(
                    [
                        (
                            "save",
                            to_model(make(first), self.shards),
                            {"condition": new_item_condition()},
                        ),
                        (
                            "update",
                            CounterModel(counter),
                            {"actions": count, "condition": condition},
                        ),
                    ]
                )
            except TransactWriteError as exc:
                reasons = exc.cancellation_reasons or []  # the event, then the counter
                if first and reasons and tables.condition_failed(reasons[-1]):
                    first = False
                    continue
                if tables.conflicted(reasons):
                    continue
                raise
            return first
        raise Busy(f"counter {counter} kept changing")

    def get(self, contact_id: str, event_id: str) -> EventModel | None:
        try:
            return EventModel.get(contact_id, event_id, consistent_read=True)
        except EventModel.DoesNotExist:
            return None

    def last_activity(self, contact_id: str, since: datetime, limit: int = 200) -> datetime:
        """When the person last did something themselves (events.is_activity) among their
        newest `limit` events, or `since` (their record's creation) if not."""
        for event in self.timeline(contact_id, limit=limit, newest_first=True):
            if is_activity(event.type) and not event.properties.get("merged_from"):
                return event.occurred_at
        return since

    def activity_since(self, contact_id: str, cutoff: datetime) -> datetime | None:
        """The newest thing the person did themselves after `cutoff`, reading only the
        events since then (a page at a time, however many emails they were sent); None if
        nothing."""
        items = EventModel.query(
            contact_id,
            EventModel.event_id >= ids.lowest_event_id(cutoff),
            scan_index_forward=False,
        )
        for item in items:
            event = from_model(item)
            mine = is_activity(event.type) and not event.properties.get("merged_from")
            if mine and event.occurred_at > cutoff:
                return event.occurred_at
        return None

    def timeline(self, contact_id: str, limit: int = 200, newest_first: bool = True) -> list[Event]:
        """The newest (or oldest) `limit` events by id, listed in the order they happened
        (timeline.py): ids sort by their cause's time, so only the listing is re-sorted."""
        items = typed.query(EventModel, contact_id, limit=limit, forward=not newest_first)
        return timeline.in_order((from_item(item) for item in items), newest_first)

    def pending_before(self, shard: str, before: datetime, limit: int) -> Iterator[EventModel]:
        """Unprocessed events older than `before`, oldest first, from the sparse index."""
        return EventModel.pending.query(
            shard, EventModel.event_id < ids.lowest_event_id(before), limit=limit
        )

    def all_shards(self) -> list[str]:
        return [f"p{i}" for i in range(self.shards)]


class AlreadyProcessed(RuntimeError):
    """Another consumer (a retried batch, the sweeper) completed this event first."""


def complete(item: EventModel, now: datetime) -> None:
    """Mark an event processed; AlreadyProcessed when another run marked it first."""
    try:
        item.update(
            actions=[EventModel.processed_at.set(now), EventModel.pending_shard.remove()],
            condition=EventModel.pending_shard.exists(),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise AlreadyProcessed(item.event_id) from exc
        raise


MARKS_PER_REQUEST = 25  # BatchExecuteStatement's most statements a request


def complete_all(items: list[EventModel], now: datetime) -> None:
    """Mark many events processed, 25 to a request, each by its own PartiQL UPDATE (the units
    of an UpdateItem), conditioned, as `complete` is, on the event still being pending. Such
    an UPDATE never creates an item: for an event erased meanwhile, or marked (or parked)
    already, it fails, and there is nothing to mark. A statement refused for another reason
    (throttling) is tried again alone."""
    client = tables.connection().client
    when = EventModel.processed_at.serialize(now)
    statement = (
        f'UPDATE "{EventModel.Meta.table_name}" SET processed_at=? REMOVE pending_shard '
        "WHERE contact_id=? AND event_id=? AND pending_shard IS NOT MISSING"
    )
    for start in range(0, len(items), MARKS_PER_REQUEST):
        chunk = items[start : start + MARKS_PER_REQUEST]
        answer = client.batch_execute_statement(
            Statements=[
                {
                    "Statement": statement,
                    "Parameters": [{"S": when}, {"S": item.contact_id}, {"S": item.event_id}],
                }
                for item in chunk
            ]
        )
        for item, response in zip(chunk, answer["Responses"], strict=True):
            code = (response.get("Error") or {}).get("Code")
            if code is not None and code != "ConditionalCheckFailed":
                with contextlib.suppress(AlreadyProcessed):
                    complete(item, now)


def record_failure(item: EventModel, error: str, max_attempts: int) -> bool:
    """Count a failed attempt; after `max_attempts` park the event as failed. True if parked.

    The count is added in the store, not from `item`: a stream record's image is the event
    as it was written (no attempts yet), however often it has failed since."""
    row = EventModel(item.contact_id, item.event_id)
    try:
        row.update(
            actions=[EventModel.attempts.add(1), EventModel.last_error.set(error[:1000])],
            condition=EventModel.pending_shard.exists(),
        )
    except UpdateError:
        return False
    if (row.attempts or 0) < max_attempts:
        return False
    try:
        row.update(
            actions=[EventModel.failed.set(True), EventModel.pending_shard.remove()],
            condition=EventModel.pending_shard.exists(),
        )
    except UpdateError:
        return False
    return True
