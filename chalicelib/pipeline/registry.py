"""Which handlers see which events: wiring as data.

A handler takes an event and a read-only context and returns the events it causes. It must
not write anywhere itself: the processor commits what it returns together with the mark that
the event was processed, which is what makes a handler's effect happen exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Protocol

from chalicelib.events import Event


class HandlerContext(Protocol):
    def timeline(self, contact_id: str, limit: int = 200) -> list[Event]:
        """A contact's (or an anonymous visitor's) events, oldest first."""
        ...

    def contact_of_visitor(self, visitor_id: str) -> str | None: ...

    def now(self) -> datetime: ...


Handler = Callable[[Event, HandlerContext], Iterable[Event]]
Registry = Mapping[str, tuple[Handler, ...]]
ANY = "*"


def handlers_for(registry: Registry, event_type: str) -> tuple[Handler, ...]:
    return tuple(registry.get(event_type, ())) + tuple(registry.get(ANY, ()))
