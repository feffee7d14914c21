"""Who may be mailed: suppressed addresses, and consent changes written with their events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.errors import NotFound
from chalicelib.events import Event
from chalicelib.store import event_log as event_rows
from chalicelib.store import tables
from chalicelib.store.models import ContactModel, SuppressionModel


class SubscriptionStore:
    def __init__(self, event_shards: int) -> None:
        self.event_shards = event_shards

    def suppression(self, address: str) -> str | None:
        """Why an address is suppressed, or None."""
        try:
            return SuppressionModel.get(address.lower(), consistent_read=True).reason
        except SuppressionModel.DoesNotExist:
            return None

    def suppressions(self, addresses: Sequence[str]) -> dict[str, str]:
        """Which of many addresses are suppressed, and why (BatchGetItem, 100 a call)."""
        keys = sorted({a.lower() for a in addresses if a and tables.can_be_key(a.lower())})
        return {
            item.address: item.reason
            for item in SuppressionModel.batch_get(keys, consistent_read=True)
        }

    def suppress(
        self, address: str, reason: str, detail: str, contact_id: str | None, now: datetime
    ) -> bool:
        """Suppress an address; the first reason stays (False if it was already suppressed)."""
        item = SuppressionModel(
            address=address.lower(),
            reason=reason,
            detail=detail[:500],
            contact_id=contact_id,
            created_at=now,
        )
        try:
            item.save(condition=SuppressionModel.address.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def change_consents(
        self, contact_id: str, changes: dict[str, Any], events: Sequence[Event]
    ) -> bool:
        """Set consent records by topic and append the events that say so, atomically.

        Returns False when an event was already recorded (a repeated click on the same
        unsubscribe link); raises NotFound when there is no such contact.
        """
        actions = [ContactModel.version.add(1)]
        actions += [ContactModel.consents[topic].set(record) for topic, record in changes.items()]
        try:
            new = event_rows.new_item_condition()
            tables.transact(
                [
                    *(
                        ("save", event_rows.to_model(e, self.event_shards), {"condition": new})
                        for e in events
                    ),
                    (
                        "update",
                        ContactModel(contact_id),
                        {"actions": actions, "condition": ContactModel.id.exists()},
                    ),
                ]
            )
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []  # the events, then the contact
            if reasons and tables.condition_failed(reasons[-1]):
                raise NotFound(f"no contact {contact_id}") from exc
            if any(tables.condition_failed(r) for r in reasons[:-1]):
                return False
            raise
        return True
