"""A contact's timeline in the order things happened (pure).

Event ids sort by the time of their cause, not their own: an effect derives its id from its
cause so a re-run derives the same id, yet it happens when it is processed, later. Sorting by
id alone would list a page view between a form post and the score that post earned. So the
timeline sorts by `occurred_at`; among events of the same instant a cause comes before its
effects, and the id breaks any tie left, so every read lists them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.events import Event


def in_order(events: Iterable[Event], newest_first: bool = False) -> list[Event]:
    """`events` by when they happened, causes before effects, then by id; or the reverse."""
    items = list(events)
    by_id = {e.event_id: e for e in items}
    depths: dict[str, int] = {}

    def depth(event: Event) -> int:
        """How many causes of the same instant come before it (a chain, so a short walk)."""
        seen = {event.event_id}
        n, cause = 0, by_id.get(event.caused_by or "")
        while cause is not None and cause.occurred_at == event.occurred_at:
            if cause.event_id in seen:
                break
            seen.add(cause.event_id)
            n, cause = n + 1, by_id.get(cause.caused_by or "")
        return n

    for event in items:
        depths[event.event_id] = depth(event)
    ordered = sorted(items, key=lambda e: (e.occurred_at, depths[e.event_id], e.event_id))
    return ordered[::-1] if newest_first else ordered
