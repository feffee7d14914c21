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
from pynamodb.transactions import TransactWrite

from chalicelib.events import Event
from chalicelib.store import events as event_rows
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


class Ledger:
    def __init__(self, event_shards: int) -> None:
        self.event_shards = event_shards

    def claim(self, key: str, now: datetime, lease: timedelta) -> Claim:
        try:
            LedgerModel(key).update(
                actions=[
                    LedgerModel.status.set(Status.SENDING.value),
                    LedgerModel.claimed_until.set(now + lease),
                    LedgerModel.attempts.add(1),
                ],
                condition=LedgerModel.key.exists()
                & LedgerModel.status.is_in(Status.RECORDED.value, Status.RETRY.value),
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            return self._refusal(key, now)
        return Claim(key, True, Status.SENDING.value)

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

    def settle(self, key: str, status: Status, result: dict[str, Any], event: Event | None) -> bool:
        """Record the outcome and its timeline event together; False if already settled."""
        try:
            with TransactWrite(connection=tables.connection()) as tx:
                tx.update(
                    LedgerModel(key),
                    actions=[
                        LedgerModel.status.set(status.value),
                        LedgerModel.result.set(result),
                        LedgerModel.claimed_until.remove(),
                    ],
                    condition=LedgerModel.status == Status.SENDING.value,
                )
                if event is not None:
                    tx.save(
                        event_rows.to_model(event, self.event_shards),
                        condition=event_rows.new_item_condition(),
                    )
        except TransactWriteError as exc:
            if any(tables.condition_failed(r) for r in exc.cancellation_reasons or []):
                return False
            raise
        return True
