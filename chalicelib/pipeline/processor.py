"""Process one stored event: run its handlers (each commits its own effects, idempotently:
see registry.py), then mark the event processed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from chalicelib import telemetry
from chalicelib.clock import Clock
from chalicelib.events import Event
from chalicelib.leads.identity import visitor_partition
from chalicelib.pipeline.marks import Marks
from chalicelib.pipeline.registry import Registry, handlers_for
from chalicelib.store import event_log as event_rows
from chalicelib.store import shared_reads
from chalicelib.store.contacts import ContactStore
from chalicelib.store.event_log import AlreadyProcessed, EventStore
from chalicelib.store.models import EventModel
from chalicelib.store.stats import Tally

log = logging.getLogger(__name__)


class Disposition(StrEnum):
    PROCESSED = "processed"
    SKIPPED = "skipped"


@dataclass
class StoreContext:
    """What handlers may read, backed by the store."""

    events: EventStore
    contacts: ContactStore
    clock: Clock
    marks: Marks | None = None  # the batch, when there is one

    def timeline(self, contact_id: str, limit: int = 200) -> list[Event]:
        return self.events.timeline(contact_id, limit=limit, newest_first=False)

    def contact_of_visitor(self, visitor_id: str) -> str | None:
        return self.contacts.find_by_key(visitor_partition(visitor_id))

    def now(self) -> datetime:
        return self.clock.now()

    def count(self, tally: Tally) -> bool:
        if self.marks is None:
            return False
        self.marks.count(tally)
        return True


class Processor:
    def __init__(
        self,
        registry: Registry,
        events: EventStore,
        contacts: ContactStore,
        clock: Clock,
        max_attempts: int = 5,
    ) -> None:
        self.registry = registry
        self.events = events
        self.clock = clock
        self.context = StoreContext(events, contacts, clock)
        self.max_attempts = max_attempts

    def process(self, item: EventModel, marks: Marks | None = None) -> Disposition:
        """Run handlers for a pending event, then mark it processed (or leave it to `marks`,
        which write many together). Raises if a handler fails: the event stays pending, and
        a retry finds done what the handlers committed."""
        if item.pending_shard is None:
            return Disposition.SKIPPED
        event = event_rows.from_model(item)
        context = self.context if marks is None else replace(self.context, marks=marks)
        with shared_reads.sharing():
            for handler in handlers_for(self.registry, event.type):
                handler(event, context)
        if marks is not None:
            marks.add(item)
            return Disposition.PROCESSED
        try:
            event_rows.complete(item, self.clock.now())
        except AlreadyProcessed:
            return Disposition.SKIPPED
        return Disposition.PROCESSED

    def fail(self, item: EventModel, error: BaseException) -> None:
        parked = event_rows.record_failure(
            item, f"{type(error).__name__}: {error}", self.max_attempts
        )
        log.warning(
            "event %s/%s failed%s: %s",
            item.contact_id,
            item.event_id,
            " and was parked" if parked else "",
            error,
        )
        telemetry.count("EventsParked" if parked else "EventsFailed")
