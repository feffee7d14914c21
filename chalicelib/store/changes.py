"""One atomic change around a contact: its item, events, timers, counters and ledger entries.

Scoring, hand-off, sales actions and rules each decide a Change (a ContactChange and what goes
with it) from what they read; `commit` writes it in one DynamoDB transaction under the
contact's version, and `contact_update` is the one write of a contact change that journeys'
outcomes use too. A decision made on a stale
read is refused (Stale: re-read and decide again); one that already committed is recognised by
its derived event ids (AlreadyDone), so a re-run after a crash changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action

from chalicelib.contact_change import ContactChange
from chalicelib.effects import Effect
from chalicelib.store import event_log as event_rows
from chalicelib.store import tables, timers
from chalicelib.store.models import (
    ContactModel,
    CounterModel,
    LedgerModel,
    SegmentMemberModel,
    TimerModel,
)
from chalicelib.store.optimistic import Stale

LEDGER_TTL = timedelta(days=400)


class AlreadyDone(RuntimeError):
    """This change was committed before (its first event is already on the timeline)."""


class CounterFull(RuntimeError):
    """A counter with a ceiling (an owner's capacity) is at it."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Timer:
    name: str
    event: str
    due_at: datetime
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CounterMove:
    key: str
    delta: int
    ceiling: int | None = None


@dataclass
class Change(ContactChange):
    """A contact change and what the same decision writes beside it: timers set and
    cancelled, counters moved, deliveries recorded."""

    timers: list[Timer] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    counters: list[CounterMove] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    memberships: dict[str, bool] = field(default_factory=dict)  # segment -> entered or left

    @property
    def empty(self) -> bool:
        return super().empty and not (self.timers or self.cancel or self.memberships)


def contact_update(change: ContactChange) -> tuple[str, Any, dict[str, Any]]:
    """The one write of a contact change: an update conditioned on the version it read."""
    if "stage" in change.attributes:
        raise ValueError("the stage moves through ContactChange.move_stage, not attributes")
    actions: list[Action] = [ContactModel.version.add(1)]
    for name, value in change.attributes.items():
        attr = getattr(ContactModel, name)
        actions.append(attr.remove() if value is None else attr.set(value))
    for name, value in change.properties.items():
        path = ContactModel.properties[name]
        actions.append(path.remove() if value is None else path.set(value))
    whole = change.whole_tags()
    if whole is not None:
        actions.append(ContactModel.tags.set(whole) if whole else ContactModel.tags.remove())
    elif change.add_tags:
        actions.append(ContactModel.tags.add(set(change.add_tags)))
    elif change.remove_tags:
        actions.append(ContactModel.tags.delete(set(change.remove_tags)))
    for reason, total in change.score_reasons.items():
        actions.append(ContactModel.score_reasons[reason].set(total))
    if change.stage is not None:
        actions.append(ContactModel.stage.set(change.stage.value))
    return (
        "update",
        ContactModel(change.contact_id),
        {"actions": actions, "condition": ContactModel.version == change.version},
    )


def commit(change: Change, now: datetime, event_shards: int, timer_shards: int) -> None:
    """Write the change atomically, or raise Stale, AlreadyDone or CounterFull."""
    items: list[tuple[str, Any, dict[str, Any]]] = []
    for event in change.events:
        row = event_rows.to_model(event, event_shards)
        items.append(("save", row, {"condition": event_rows.new_item_condition()}))
    contact_at = len(items)
    items.append(contact_update(change))
    for timer in change.timers:
        items.append(("save", timers.to_model(change.contact_id, timer, now, timer_shards), {}))
    for name in change.cancel:
        items.append(("delete", TimerModel(change.contact_id, name), {}))
    counter_at = len(items)
    for move in change.counters:
        kwargs: dict[str, Any] = {"actions": [CounterModel.value.add(move.delta)]}
        if move.ceiling is not None and move.delta > 0:
            kwargs["condition"] = CounterModel.key.does_not_exist() | (
                CounterModel.value < move.ceiling
            )
        items.append(("update", CounterModel(move.key), kwargs))
    for segment, entered in change.memberships.items():
        member = SegmentMemberModel(segment, change.contact_id, entered_at=now)
        items.append(("save", member, {}) if entered else ("delete", member, {}))
    for effect in change.effects:
        entry = LedgerModel(
            key=effect.key,
            kind=effect.kind,
            contact_id=change.contact_id,
            journey_id="-",
            step=effect.step or effect.kind,
            payload=effect.payload,
            created_at=now,
            expires_at=now + LEDGER_TTL,
        )
        items.append(("save", entry, {"condition": LedgerModel.key.does_not_exist()}))
    try:
        tables.transact(items)
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        failed = tables.failed_conditions(exc)
        if any(i < contact_at for i in failed):
            raise AlreadyDone(change.events[0].event_id) from exc
        if contact_at in failed:
            raise Stale(f"contact {change.contact_id} changed under us") from exc
        full = [i for i in failed if counter_at <= i < counter_at + len(change.counters)]
        if full:
            raise CounterFull(change.counters[full[0] - counter_at].key) from exc
        if reasons and (failed or tables.conflicted(reasons)):
            raise Stale(f"contact {change.contact_id} changed under us") from exc
        raise
