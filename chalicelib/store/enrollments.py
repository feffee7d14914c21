"""Enrollments: restore, find what is due, and commit an engine outcome in one transaction.

The transaction holds the enrollment's conditional write (its revision), the ledger entries of
the side effects, the timeline events, any contact update, the send history and the journey's
active counter. Either all of it happens or none, so a step whose commit lost a race leaves
no trace, and a step that committed cannot run again.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.journeys.engine import Outcome, SendHistory
from chalicelib.journeys.enrollment import Enrollment, Phase
from chalicelib.reports import tally
from chalicelib.store import event_log as event_rows
from chalicelib.store import stats, tables, typed
from chalicelib.store.changes import contact_update
from chalicelib.store.models import (
    CounterModel,
    EnrollmentModel,
    LedgerModel,
    SendHistoryModel,
)
from chalicelib.store.optimistic import Stale

LEDGER_TTL = timedelta(days=400)
HISTORY_KEEP = timedelta(days=31)


class JourneyFull(RuntimeError):
    """The journey's max_active cap is reached."""


def due_shard(contact_id: str, key: str, shards: int) -> str:
    return f"d{zlib.crc32(f'{contact_id}|{key}'.encode()) % shards}"


def active_counter(journey_id: str) -> str:
    return f"journey#{journey_id}#active"


def from_model(item: EnrollmentModel) -> Enrollment:
    return _enrollment(typed.model_values(item))


def from_item(item: typed.Item) -> Enrollment:
    """`from_model(EnrollmentModel.from_raw_data(item))`, without building the model."""
    return _enrollment(typed.values(EnrollmentModel, item))


def _enrollment(v: dict[str, Any]) -> Enrollment:
    return Enrollment(
        contact_id=v["contact_id"],
        key=v["key"],
        journey_id=v["journey_id"],
        journey_version=int(v["journey_version"]),
        state=v["state"],
        entered_at=v["entered_at"],
        timezone=v["timezone"],
        revision=int(v["revision"]),
        phase=Phase(v["phase"]),
        due_at=v["due_at"],
        waiting=v["waiting"],
        visits={k: int(n) for k, n in (v["visits"] or {}).items()},
        trigger=v["trigger"] or {},
        updated_at=v["updated_at"],
        ended_at=v["ended_at"],
        end_reason=v["end_reason"],
        converted_at=v["converted_at"],
        holds_slot=bool(v["holds_slot"]),
    )


def to_model(e: Enrollment, revision: int, now: datetime, shards: int) -> EnrollmentModel:
    return EnrollmentModel(
        contact_id=e.contact_id,
        key=e.key,
        journey_id=e.journey_id,
        journey_version=e.journey_version,
        state=e.state,
        phase=e.phase.value,
        revision=revision,
        entered_at=e.entered_at,
        updated_at=now,
        timezone=e.timezone,
        due_at=e.due_at,
        due_shard=due_shard(e.contact_id, e.key, shards) if e.due_at else None,
        waiting=e.waiting,
        visits=e.visits,
        trigger=e.trigger,
        ended_at=e.ended_at,
        end_reason=e.end_reason,
        converted_at=e.converted_at,
        holds_slot=e.holds_slot,
    )


class EnrollmentStore:
    def __init__(self, shards: int, event_shards: int) -> None:
        self.shards = shards
        self.event_shards = event_shards
        self._noted: set[tuple[str, date]] = set()  # journeys noted for the roll-up, by day

    def all_shards(self) -> list[str]:
        return [f"d{i}" for i in range(self.shards)]

    def get(self, contact_id: str, key: str) -> Enrollment | None:
        try:
            return from_model(EnrollmentModel.get(contact_id, key, consistent_read=True))
        except EnrollmentModel.DoesNotExist:
            return None

    def for_contact(self, contact_id: str) -> list[Enrollment]:
        """Every enrollment of a contact, ended ones included (re-entry looks at them). Read
        as raw items (store/typed.py): every event a journey sees asks for them."""
        return [
            from_item(item) for item in typed.query(EnrollmentModel, contact_id, consistent=True)
        ]

    def due(self, shard: str, now: datetime, page_size: int = 500) -> Iterator[EnrollmentModel]:
        """Enrollments of one shard whose due time has come, from the sparse index only."""
        return EnrollmentModel.due.query(shard, EnrollmentModel.due_at <= now, page_size=page_size)

    def next_due(self) -> datetime | None:
        """The earliest due time over all shards (simulation jumps the clock to it)."""
        earliest = None
        for shard in self.all_shards():
            for item in EnrollmentModel.due.query(shard, limit=1):
                if earliest is None or item.due_at < earliest:
                    earliest = item.due_at
        return earliest

    def send_history(self, contact_id: str) -> SendHistory:
        try:
            item = SendHistoryModel.get(contact_id, consistent_read=True)
        except SendHistoryModel.DoesNotExist:
            return SendHistory()
        times = tuple(datetime.fromisoformat(t) for t in item.sends or ())
        return SendHistory(times, int(item.revision or 0))

    def _note(self, scope: str, day: date, shard: int) -> None:
        """Note the journey's scope for the day's roll-up once per process and day, outside
        the transaction: in it, the `all` item would be one more item every enrollment of
        every contact meets."""
        if (scope, day) not in self._noted:
            stats.note(scope, day, shard)
            self._noted.add((scope, day))

    def active_count(self, journey_id: str) -> int:
        try:
            return int(CounterModel.get(active_counter(journey_id), consistent_read=True).value)
        except CounterModel.DoesNotExist:
            return 0

    def commit(self, outcome: Outcome, now: datetime, max_active: int | None = None) -> None:
        """Write an outcome atomically; raise Stale or JourneyFull if a condition failed."""
        e = outcome.enrollment
        items: list[tuple[str, Any, dict[str, Any]]] = []
        model = to_model(e, outcome.read_revision + 1, now, self.shards)
        if outcome.is_new:
            cond = EnrollmentModel.key.does_not_exist()
        else:
            cond = EnrollmentModel.revision == outcome.read_revision
        items.append(("save", model, {"condition": cond}))
        for effect in outcome.effects:
            entry = LedgerModel(
                key=effect.key,
                kind=effect.kind,
                contact_id=e.contact_id,
                journey_id=e.journey_id,
                step=effect.step or effect.kind,
                payload=effect.payload,
                created_at=now,
                expires_at=now + LEDGER_TTL,
            )
            items.append(("save", entry, {"condition": LedgerModel.key.does_not_exist()}))
        for event in outcome.events:
            row = event_rows.to_model(event, self.event_shards)
            items.append(("save", row, {"condition": event_rows.new_item_condition()}))
        if outcome.contact is not None and outcome.contact.touches_contact:
            items.append(contact_update(outcome.contact))
        if outcome.sends:
            items.append(_history_write(e.contact_id, outcome, now))
        # The journey's own counts (steps, entries, exits, conversions, branches) are added
        # here, once with the events: the bookkeeper leaves these events alone.
        steps = tally.steps(e.journey_id, outcome.entered, outcome.left, outcome.exited)
        counts = {now.date(): steps}
        for event in outcome.events:
            if event.type in tally.JOURNEY_EVENTS:
                day = event.occurred_at.date()
                counts.setdefault(day, []).extend(tally.counts(event, tally.Subject()))
        shard = stats.shard_of(e.contact_id)
        for day, counted in counts.items():
            items += stats.writes(counted, day, shard, note=False)
            self._note(tally.journey(e.journey_id), day, shard)
        slot_index = None
        if outcome.slot:
            slot_index = len(items)
            items.append(_slot(e.journey_id, outcome.slot, max_active))
        elif outcome.is_new and max_active is not None:
            # Entered and ended in one run: it holds no place, but needed one to enter.
            slot_index = len(items)
            items.append(_room(e.journey_id, max_active))
        try:
            tables.transact(items)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            failed = tables.failed_conditions(exc)
            if slot_index is not None and failed == [slot_index]:
                raise JourneyFull(e.journey_id) from exc
            if reasons and (failed or tables.conflicted(reasons)):
                raise Stale(f"{e.contact_id}/{e.key} changed under us") from exc
            raise


def _history_write(contact_id: str, outcome: Outcome, now: datetime) -> tuple[str, Any, dict]:
    new = [t.isoformat() for t in outcome.sends]
    basis = outcome.cap_basis
    if basis is None:
        # No cap was consulted: append blindly; the revision bump still fences capped writers.
        actions = [
            SendHistoryModel.sends.set((SendHistoryModel.sends | []).append(new)),
            SendHistoryModel.revision.add(1),
        ]
        return ("update", SendHistoryModel(contact_id), {"actions": actions})
    keep = [t.isoformat() for t in basis.times if t > now - HISTORY_KEEP]
    item = SendHistoryModel(contact_id=contact_id, sends=keep + new, revision=basis.revision + 1)
    if basis.revision == 0:
        cond = SendHistoryModel.contact_id.does_not_exist()
    else:
        cond = SendHistoryModel.revision == basis.revision
    return ("save", item, {"condition": cond})


def _room(journey_id: str, max_active: int) -> tuple[str, Any, dict]:
    """That the journey has a place free, changing nothing (an update adding 0, so that like
    a slot's it is the update `commit` reads a refusal from)."""
    room = CounterModel.key.does_not_exist() | (CounterModel.value < max_active)
    kwargs = {"actions": [CounterModel.value.add(0)], "condition": room}
    return ("update", CounterModel(active_counter(journey_id)), kwargs)


def _slot(journey_id: str, delta: int, max_active: int | None) -> tuple[str, Any, dict]:
    kwargs: dict[str, Any] = {"actions": [CounterModel.value.add(delta)]}
    if delta > 0 and max_active is not None:
        kwargs["condition"] = CounterModel.key.does_not_exist() | (CounterModel.value < max_active)
    return ("update", CounterModel(active_counter(journey_id)), kwargs)
