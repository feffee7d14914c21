"""A broadcast's run in DynamoDB: its state item, its planned sends filed by wave, and its
per-variant counters.

Planning a contact writes, in one transaction, the ledger entry that makes the email
happen once (`attribute_not_exists`) and the row that files it under its wave, or, for a
contact who is skipped, the ledger entry settled as skipped and the `email_skipped` event
with its reason. A second run of the same page finds the ledger entries and writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from chalicelib.events import Event
from chalicelib.store import event_log as event_rows
from chalicelib.store import tables
from chalicelib.store.changes import LEDGER_TTL
from chalicelib.store.models import (
    BroadcastModel,
    BroadcastSendModel,
    CounterModel,
    LedgerModel,
    SendHistoryModel,
)

DUE_SHARD = "b"
KIND = "email"
# The counters a broadcast keeps per variant, and per skip reason.
METRICS = ("sent", "opened", "clicked")
STATS_KEPT = timedelta(days=400)
# A transaction holds at most 100 items; a contact takes up to three.
_ITEMS_PER_TRANSACTION = 99
_CANCELLED_CACHE = 5.0


class Status:
    SCHEDULED = "scheduled"
    PLANNING = "planning"
    SENDING = "sending"
    SENT = "sent"  # every wave is on the sends queue (which may still be sending it)
    CANCELLED = "cancelled"
    ACTIVE = (SCHEDULED, PLANNING, SENDING)


def ledger_key(broadcast_id: str, contact_id: str) -> str:
    return f"broadcast:{broadcast_id}:{contact_id}"


def wave_key(broadcast_id: str, at: datetime) -> str:
    return f"{broadcast_id}#{at.isoformat()}"


def counter_key(broadcast_id: str, variant: str, metric: str) -> str:
    return f"broadcast#{broadcast_id}#{variant}#{metric}"


def _marker_key(broadcast_id: str, metric: str, contact_id: str) -> str:
    return f"broadcast#{broadcast_id}#{metric}#{contact_id}"


@dataclass(frozen=True)
class Planned:
    """One contact's plan, as the store writes it: a send (variant and wave) or a skip."""

    contact_id: str
    variant: str
    at: datetime | None = None  # the wave; None for a skip
    skipped: Event | None = None
    history: bool = False  # add `at` to the contact's send history (the frequency cap)


@dataclass
class Written:
    new: list[Planned] = field(default_factory=list)
    existing: int = 0


class BroadcastStore:
    def __init__(self, event_shards: int) -> None:
        self.event_shards = event_shards
        self._cancelled: dict[str, tuple[float, bool]] = {}

    # --- the state item ----------------------------------------------------------------

    def get(self, broadcast_id: str) -> BroadcastModel | None:
        if not tables.can_be_key(broadcast_id):
            return None
        try:
            return BroadcastModel.get(broadcast_id, consistent_read=True)
        except DoesNotExist:
            return None

    def all(self) -> list[BroadcastModel]:
        """Every broadcast ever scheduled (a handful: a scan is the right read here)."""
        return sorted(BroadcastModel.scan(), key=lambda b: b.starts_at)

    def due(self, now: datetime) -> Iterator[BroadcastModel]:
        """Broadcasts with work to do by `now`, from the sparse due index only."""
        for item in BroadcastModel.due.query(DUE_SHARD, BroadcastModel.due_at <= now):
            state = self.get(item.id)  # the index is eventually consistent; the item is not
            if state is not None and state.status in Status.ACTIVE:
                yield state

    def schedule(
        self,
        broadcast_id: str,
        version: int,
        send_at: str,
        starts_at: datetime,
        by: str,
        now: datetime,
    ) -> BroadcastModel | None:
        """Schedule (or move) a broadcast that nobody was planned for yet (it has not started,
        was cancelled first, or found its audience empty); None if someone was."""
        item = BroadcastModel(
            broadcast_id,
            version=version,
            status=Status.SCHEDULED,
            send_at=send_at,
            starts_at=starts_at,
            scheduled_by=by,
            scheduled_at=now,
            updated_at=now,
            due_shard=DUE_SHARD,
            due_at=starts_at,
        )
        # Until someone is planned, nobody can have been sent it: it may be (re)scheduled.
        fresh = BroadcastModel.id.does_not_exist()
        waiting = BroadcastModel.status.is_in(Status.SCHEDULED, Status.CANCELLED, Status.SENT) & (
            BroadcastModel.planned == 0
        )
        return item if _held(lambda: item.save(condition=fresh | waiting)) else None

    def save(self, state: BroadcastModel, now: datetime) -> bool:
        """Write the run's progress, if nobody else moved it meanwhile (False then)."""
        read = int(state.revision or 0)
        state.revision = read + 1
        state.updated_at = now
        unmoved = (BroadcastModel.revision == read) & BroadcastModel.status.is_in(*Status.ACTIVE)
        return _held(lambda: state.save(condition=unmoved))

    def cancel(self, broadcast_id: str, now: datetime) -> bool:
        """Stop a broadcast: waves not yet released never go, and the sender skips what is
        still on the queue. False if there is nothing to stop (never scheduled, cancelled)."""
        if not tables.can_be_key(broadcast_id):
            return False
        stopped = _held(
            lambda: BroadcastModel(broadcast_id).update(
                actions=[
                    BroadcastModel.status.set(Status.CANCELLED),
                    BroadcastModel.due_shard.remove(),
                    BroadcastModel.due_at.remove(),
                    BroadcastModel.finished_at.set(now),
                    BroadcastModel.updated_at.set(now),
                    BroadcastModel.revision.add(1),
                ],
                condition=BroadcastModel.status.is_in(*Status.ACTIVE, Status.SENT),
            )
        )
        if not stopped:
            return False
        self._cancelled.pop(broadcast_id, None)
        return True

    def cancelled(self, broadcast_id: str) -> bool:
        """Whether a broadcast was cancelled; the sender asks before each email, so the
        answer is kept for a few seconds per process."""
        now = time.monotonic()
        seen = self._cancelled.get(broadcast_id)
        if seen is None or now - seen[0] > _CANCELLED_CACHE:
            state = self.get(broadcast_id)
            seen = (now, state is not None and state.status == Status.CANCELLED)
            self._cancelled[broadcast_id] = seen
        return seen[1]

    # --- planned sends -----------------------------------------------------------------

    def write_plan(self, broadcast_id: str, plans: Sequence[Planned], now: datetime) -> Written:
        """File each plan once: new plans are written, plans already on the ledger are
        counted as existing (a retried page, a second run)."""
        written = Written()
        batch: list[Planned] = []
        size = 0
        for plan in plans:
            items = len(self._items(broadcast_id, plan, now))
            if size + items > _ITEMS_PER_TRANSACTION:
                self._write(broadcast_id, batch, now, written)
                batch, size = [], 0
            batch.append(plan)
            size += items
        if batch:
            self._write(broadcast_id, batch, now, written)
        return written

    def _write(
        self, broadcast_id: str, batch: list[Planned], now: datetime, written: Written
    ) -> None:
        try:
            tables.transact(i for p in batch for i in self._items(broadcast_id, p, now))
        except TransactWriteError:
            if len(batch) == 1:
                if self.get_ledger(broadcast_id, batch[0].contact_id) is None:
                    raise  # not a second run: something else refused it
                written.existing += 1
                return
            for plan in batch:  # one of them was planned before: sort them out one by one
                self._write(broadcast_id, [plan], now, written)
            return
        written.new.extend(batch)

    def _items(self, broadcast_id: str, plan: Planned, now: datetime) -> list[tables.Write]:
        key = ledger_key(broadcast_id, plan.contact_id)
        entry = LedgerModel(
            key=key,
            kind=KIND,
            contact_id=plan.contact_id,
            journey_id=f"broadcast:{broadcast_id}",
            step=plan.variant,
            payload={"broadcast": broadcast_id, "variant": plan.variant},
            status="skipped" if plan.skipped else "recorded",
            created_at=now,
            expires_at=now + LEDGER_TTL,
        )
        items: list[tables.Write] = [
            ("save", entry, {"condition": LedgerModel.key.does_not_exist()})
        ]
        if plan.skipped is not None:
            row = event_rows.to_model(plan.skipped, self.event_shards)
            items.append(("save", row, {"condition": event_rows.new_item_condition()}))
            return items
        assert plan.at is not None
        filed = BroadcastSendModel(
            wave_key(broadcast_id, plan.at),
            plan.contact_id,
            variant=plan.variant,
            created_at=now,
            expires_at=now + STATS_KEPT,
        )
        items.append(("save", filed, {}))
        if plan.history:
            actions = [
                SendHistoryModel.sends.set(
                    (SendHistoryModel.sends | []).append([plan.at.isoformat()])
                ),
                SendHistoryModel.revision.add(1),
            ]
            items.append(("update", SendHistoryModel(plan.contact_id), {"actions": actions}))
        return items

    def get_ledger(self, broadcast_id: str, contact_id: str) -> LedgerModel | None:
        try:
            return LedgerModel.get(ledger_key(broadcast_id, contact_id), consistent_read=True)
        except DoesNotExist:
            return None

    def histories(self, contact_ids: Sequence[str]) -> dict[str, tuple[datetime, ...]]:
        """Earlier marketing sends of many contacts, for the frequency cap."""
        found = SendHistoryModel.batch_get(sorted(set(contact_ids)), consistent_read=True)
        return {
            item.contact_id: tuple(datetime.fromisoformat(t) for t in item.sends or ())
            for item in found
        }

    def wave(
        self, broadcast_id: str, at: datetime, after: str | None, limit: int
    ) -> tuple[list[BroadcastSendModel], str | None]:
        """A page of one wave's planned sends in contact order, and the cursor after it."""
        condition = BroadcastSendModel.contact_id > after if after else None
        rows = list(
            BroadcastSendModel.query(
                wave_key(broadcast_id, at), condition, limit=limit + 1, consistent_read=True
            )
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, rows[-1].contact_id if more and rows else None

    # --- counters ----------------------------------------------------------------------

    def count_once(
        self,
        broadcast_id: str,
        once_per: str,
        counter: tuple[str, str],
        contact_id: str,
        now: datetime,
    ) -> bool:
        """Add one to a (variant, metric) counter, at most once per contact for `once_per`
        (sent, opened, clicked, skipped): the pipeline may deliver an event twice, and
        people open an email twice."""
        marker = CounterModel(
            _marker_key(broadcast_id, once_per, contact_id), value=1, expires_at=now + STATS_KEPT
        )
        total = CounterModel(counter_key(broadcast_id, *counter))
        try:
            tables.transact(
                [
                    ("save", marker, {"condition": CounterModel.key.does_not_exist()}),
                    ("update", total, {"actions": [CounterModel.value.add(1)]}),
                ]
            )
        except TransactWriteError as exc:
            if tables.failed_conditions(exc) == [0]:
                return False
            raise
        return True

    def counts(
        self, broadcast_id: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """The counters for (variant, metric) pairs, zero where none was kept yet."""
        wanted = {counter_key(broadcast_id, v, m): (v, m) for v, m in keys}
        found = {k: 0 for k in wanted.values()}
        for item in CounterModel.batch_get(list(wanted)):
            found[wanted[item.key]] = int(item.value or 0)
        return found


def _held(write: Callable[[], object]) -> bool:
    """Run a conditional write: False when its condition did not hold."""
    try:
        write()
    except (PutError, UpdateError) as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def plain_waves(state: BroadcastModel) -> dict[str, int]:
    return {str(k): int(v) for k, v in (tables.plain(state.waves) or {}).items()}


def as_dict(state: BroadcastModel) -> dict[str, Any]:
    return {
        "id": state.id,
        "version": int(state.version),
        "status": state.status,
        "send_at": state.send_at,
        "starts_at": state.starts_at.isoformat(),
        "planned": int(state.planned or 0),
        "waves": plain_waves(state),
        "released": list(state.released or []),
        "winner": state.winner,
        "winner_reason": state.winner_reason,
        "scheduled_by": state.scheduled_by,
        "scheduled_at": state.scheduled_at.isoformat(),
        "finished_at": state.finished_at.isoformat() if state.finished_at else None,
    }
