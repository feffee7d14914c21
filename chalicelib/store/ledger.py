"""Deliveries off the ledger: claim an effect, then settle it with its event, exactly once.

The engine records an effect (an email to send) in the same transaction as the step that
causes it. A consumer claims it (recorded -> sending, with a lease), delivers, and settles it
(sending -> sent / skipped / failed) in one transaction with the timeline event. A second
copy of the queue message finds the effect claimed or settled and does nothing. A claim
whose lease ran out (the worker died mid-delivery) is not delivered again: the provider may
already have accepted it, and a duplicate is worse than a reported failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.events import Event
from chalicelib.store import event_log as event_rows
from chalicelib.store import tables
from chalicelib.store.models import LedgerModel


class Status(StrEnum):
    RECORDED = "recorded"
    RETRY = "retry"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: ours to deliver, or the status that stopped us."""

    key: str
    granted: bool
    status: str | None
    attempts: int = 0
    expired: bool = False


@dataclass(frozen=True)
class Settlement:
    """How a delivery ended, to be written with its timeline event."""

    key: str
    status: Status
    result: dict[str, Any]
    event: Event | None


_SETTLED_PER_TRANSACTION = 50  # an entry and its event each: 100 items, DynamoDB's most


class Ledger:
    def __init__(self, event_shards: int) -> None:
        self.event_shards = event_shards

    def claim(
        self, key: str, now: datetime, lease: timedelta, reclaim_expired: bool = False
    ) -> Claim:
        """Take the entry to deliver it. With `reclaim_expired` (deliveries that may repeat,
        such as webhooks, whose receivers dedupe by id) a dead worker's lapsed lease is
        taken over too."""
        condition = LedgerModel.status.is_in(Status.RECORDED.value, Status.RETRY.value)
        if reclaim_expired:
            condition = condition | (
                (LedgerModel.status == Status.SENDING.value) & (LedgerModel.claimed_until < now)
            )
        item = LedgerModel(key)
        try:
            item.update(
                actions=[
                    LedgerModel.status.set(Status.SENDING.value),
                    LedgerModel.claimed_until.set(now + lease),
                    LedgerModel.attempts.add(1),
                ],
                condition=LedgerModel.key.exists() & condition,
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            return self._refusal(key, now)
        return Claim(key, True, Status.SENDING.value, int(item.attempts or 0))

    def claim_many(self, keys: list[str], now: datetime, lease: timedelta) -> dict[str, Claim]:
        """Claim a queue batch's entries in one transaction; when any is not ours to take (a
        second copy, a settled entry), each is claimed on its own to learn which."""
        if len(keys) < 2:
            return {key: self.claim(key, now, lease) for key in keys}
        condition = LedgerModel.key.exists() & LedgerModel.status.is_in(
            Status.RECORDED.value, Status.RETRY.value
        )
        actions = [
            LedgerModel.status.set(Status.SENDING.value),
            LedgerModel.claimed_until.set(now + lease),
            LedgerModel.attempts.add(1),
        ]
        try:
            tables.transact(
                ("update", LedgerModel(key), {"actions": actions, "condition": condition})
                for key in keys
            )
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if reasons and (tables.failed_conditions(exc) or tables.conflicted(reasons)):
                return self._claim_each(keys, now, lease)
            raise
        return {key: Claim(key, True, Status.SENDING.value) for key in keys}

    def _claim_each(self, keys: list[str], now: datetime, lease: timedelta) -> dict[str, Claim]:
        claims: dict[str, Claim] = {}
        try:
            for key in keys:
                claims[key] = self.claim(key, now, lease)
        except Exception:
            for claim in claims.values():  # nothing was sent: give back what we took
                if claim.granted:
                    self.release(claim.key)
            raise
        return claims

    def get(self, key: str) -> LedgerModel | None:
        if not tables.can_be_key(key):
            return None
        try:
            return LedgerModel.get(key, consistent_read=True)
        except LedgerModel.DoesNotExist:
            return None

    def retry_later(self, key: str, attempt: dict[str, Any]) -> None:
        """A failed attempt, recorded; the entry waits for its next try."""
        LedgerModel(key).update(
            actions=[
                LedgerModel.status.set(Status.RETRY.value),
                LedgerModel.claimed_until.remove(),
                LedgerModel.attempt_log.set((LedgerModel.attempt_log | []).append([attempt])),
            ],
            condition=LedgerModel.status == Status.SENDING.value,
        )

    def reopen(self, key: str) -> bool:
        """Replay a failed delivery: back to retry with a fresh count. False if not failed."""
        try:
            LedgerModel(key).update(
                actions=[
                    LedgerModel.status.set(Status.RETRY.value),
                    LedgerModel.attempts.set(0),
                ],
                condition=LedgerModel.status == Status.FAILED.value,
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def _refusal(self, key: str, now: datetime) -> Claim:
        try:
            item = LedgerModel.get(key, consistent_read=True)
        except LedgerModel.DoesNotExist:
            return Claim(key, False, None)
        expired = (
            item.status == Status.SENDING
            and item.claimed_until is not None
            and item.claimed_until < now
        )
        return Claim(key, False, item.status, int(item.attempts or 0), expired)

    def release(self, key: str) -> None:
        """Give a claim back (the provider throttled us): the next copy may try again."""
        LedgerModel(key).update(
            actions=[
                LedgerModel.status.set(Status.RETRY.value),
                LedgerModel.claimed_until.remove(),
            ],
            condition=LedgerModel.status == Status.SENDING.value,
        )

    def settle_many(self, outcomes: list[Settlement]) -> None:
        """Settle a batch's entries with their events in one transaction (50 a transaction);
        if one was settled meanwhile, each is settled on its own."""
        for start in range(0, len(outcomes), _SETTLED_PER_TRANSACTION):
            chunk = outcomes[start : start + _SETTLED_PER_TRANSACTION]
            try:
                tables.transact(item for o in chunk for item in self._settle_items(o))
            except TransactWriteError as exc:
                reasons = exc.cancellation_reasons or []
                if not reasons or not (tables.failed_conditions(exc) or tables.conflicted(reasons)):
                    raise
                for o in chunk:
                    self.settle(o.key, o.status, o.result, o.event)

    def _settle_items(self, outcome: Settlement) -> list[tables.Write]:
        actions = [
            LedgerModel.status.set(outcome.status.value),
            LedgerModel.result.set(outcome.result),
            LedgerModel.claimed_until.remove(),
        ]
        entry = LedgerModel(outcome.key)
        items: list[tables.Write] = [
            (
                "update",
                entry,
                {"actions": actions, "condition": LedgerModel.status == Status.SENDING.value},
            )
        ]
        if outcome.event is not None:
            row = event_rows.to_model(outcome.event, self.event_shards)
            items.append(("save", row, {"condition": event_rows.new_item_condition()}))
        return items

    def settle(
        self,
        key: str,
        status: Status,
        result: dict[str, Any],
        event: Event | None,
        attempt: dict[str, Any] | None = None,
    ) -> bool:
        """Record the outcome and its timeline event together; False if already settled."""
        actions = [
            LedgerModel.status.set(status.value),
            LedgerModel.result.set(result),
            LedgerModel.claimed_until.remove(),
        ]
        if attempt is not None:
            actions.append(
                LedgerModel.attempt_log.set((LedgerModel.attempt_log | []).append([attempt]))
            )
        try:
            sending = LedgerModel.status == Status.SENDING.value
            items: list[tables.Write] = [
                ("update", LedgerModel(key), {"actions": actions, "condition": sending})
            ]
            if event is not None:
                row = event_rows.to_model(event, self.event_shards)
                items.append(("save", row, {"condition": event_rows.new_item_condition()}))
            tables.transact(items)
        except TransactWriteError as exc:
            if any(tables.condition_failed(r) for r in exc.cancellation_reasons or []):
                return False
            raise
        return True
