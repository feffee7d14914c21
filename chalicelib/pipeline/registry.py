"""Which handlers see which events: wiring as data.

The contract every handler keeps: it takes an event and a read-only context, decides, and
commits its own effects, each decision in one transaction whose ids are derived from the
event (ids.derived_event_id, ids.effect_event_id, ledger keys). It returns nothing. A re-run
after a crash, or a second copy of the event, therefore finds its effects already written
and changes nothing; the processor marks the event processed only after every handler has
returned. The one effect that is not a transaction, the outbox's message to a queue, is
sent at least once and carries its ledger key, by which its consumer delivers it once. Report
counts may be left to the batch (`HandlerContext.count`), which adds them, each once by its
event's marker, before it marks the events processed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from chalicelib.events import Event
from chalicelib.store.stats import Tally


class HandlerContext(Protocol):
    def timeline(self, contact_id: str, limit: int = 200) -> list[Event]:
        """A contact's (or an anonymous visitor's) events, oldest first."""
        ...

    def contact_of_visitor(self, visitor_id: str) -> str | None: ...

    def now(self) -> datetime: ...

    def count(self, tally: Tally) -> bool:
        """Leave an event's report counts to the batch, which adds them before it marks the
        event processed: True; False where there is no batch (the sweeper's one event at a
        time), and the handler adds them itself."""
        ...


Handler = Callable[[Event, HandlerContext], None]
Registry = Mapping[str, tuple[Handler, ...]]
ANY = "*"


def handlers_for(registry: Registry, event_type: str) -> tuple[Handler, ...]:
    return tuple(registry.get(event_type, ())) + tuple(registry.get(ANY, ()))
