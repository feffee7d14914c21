"""Identity stitching: an anonymous visitor's history joins the contact once they identify.

Copies get ids derived from the original and are appended only if absent, so stitching
twice (a retry, or both sides below racing) writes each copy once.
"""

from __future__ import annotations

from chalicelib import ids
from chalicelib.events import Event
from chalicelib.leads.identity import visitor_partition
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.store.event_log import EventStore

VISITOR_PREFIX = visitor_partition("")


def _copy(original: Event, contact_id: str, cause: str) -> Event:
    return Event(
        contact_id=contact_id,
        event_id=ids.derived_event_id(
            original.occurred_at, "stitch", contact_id, original.event_id
        ),
        type=original.type,
        occurred_at=original.occurred_at,
        source=original.source,
        properties={**original.properties, "stitched_from": original.event_id},
        touch=original.touch,
        caused_by=cause,
    )


class Stitcher:
    """The pipeline handler: joins anonymous history to a contact, from whichever side is
    processed last."""

    def __init__(self, events: EventStore) -> None:
        self.events = events

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        for copy in copies(event, ctx):
            self.events.append(copy)


def copies(event: Event, ctx: HandlerContext) -> list[Event]:
    """The copies an event makes of anonymous history: none unless it identifies a visitor
    or is a visitor's event that arrived after they were identified."""
    if event.contact_id.startswith(VISITOR_PREFIX):
        return _forward_late_visitor_event(event, ctx)
    if event.properties.get("identifies_visitor"):
        return _join_visitor_history(event, ctx)
    return []


def _join_visitor_history(event: Event, ctx: HandlerContext) -> list[Event]:
    """On identification, copy the visitor's earlier anonymous events onto the contact."""
    history = ctx.timeline(visitor_partition(event.properties["visitor_id"]), limit=1000)
    return [_copy(e, event.contact_id, event.event_id) for e in history]


def _forward_late_visitor_event(event: Event, ctx: HandlerContext) -> list[Event]:
    """An anonymous event processed after its visitor was identified joins the contact too."""
    contact_id = ctx.contact_of_visitor(event.contact_id.removeprefix(VISITOR_PREFIX))
    return [_copy(event, contact_id, event.event_id)] if contact_id else []
