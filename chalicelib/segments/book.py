"""The live segments, ordered so that a segment comes after the segments it reads, and what
each one reads: which events, the contact's fields, other segments, time windows.

That is what makes membership incremental: an event re-evaluates only the segments it can
affect, for its own contact, and the segments that read those come after them in the same
pass (segments of segments settle at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from chalicelib.conditions.language import (
    AllCondition,
    AnyCondition,
    Condition,
    EventCondition,
    InactiveCondition,
    NotCondition,
    SegmentCondition,
)
from chalicelib.events import (
    CONTACT_CHANGES,
    SEGMENT_BACKFILL,
    SEGMENT_ENTERED,
    SEGMENT_LEFT,
    SEGMENT_RECHECK_DUE,
    Event,
    is_activity,
)
from chalicelib.segments.language import Segment


@dataclass(frozen=True)
class Reads:
    events: frozenset[str] = frozenset()  # event types an event condition counts
    activity: bool = False  # inactive_for: any activity of the person
    contact: bool = False  # fields, tags, stage, score, consent
    segments: frozenset[str] = frozenset()
    windows: bool = False  # a verdict time alone can change

    def __or__(self, other: Reads) -> Reads:
        return Reads(
            self.events | other.events,
            self.activity or other.activity,
            self.contact or other.contact,
            self.segments | other.segments,
            self.windows or other.windows,
        )


def reads(cond: Condition) -> Reads:
    match cond:
        case EventCondition():
            return Reads(events=frozenset(cond.types), windows=cond.within is not None)
        case InactiveCondition():
            return Reads(activity=True, windows=True)
        case SegmentCondition():
            return Reads(segments=frozenset({cond.segment}))
        case AllCondition() | AnyCondition():
            parts = cond.all if isinstance(cond, AllCondition) else cond.any
            out = Reads()
            for part in parts:
                out = out | reads(part)
            return out
        case NotCondition():
            return reads(cond.not_)
    return Reads(contact=True)


def segment_refs(cond: Condition, loc: tuple = ()) -> list[tuple[tuple, str]]:
    """Every segment a condition reads, with where it is named (for validate's file:line)."""
    match cond:
        case SegmentCondition():
            return [((*loc, "segment"), cond.segment)]
        case AllCondition():
            return [r for i, c in enumerate(cond.all) for r in segment_refs(c, (*loc, "all", i))]
        case AnyCondition():
            return [r for i, c in enumerate(cond.any) for r in segment_refs(c, (*loc, "any", i))]
        case NotCondition():
            return segment_refs(cond.not_, (*loc, "not"))
    return []


class SegmentCycle(ValueError):
    def __init__(self, circle: list[str]) -> None:
        super().__init__(f"segments read each other in a circle: {' -> '.join(circle)}")
        self.circle = circle  # each reads the next; the last is the first again


class SegmentBook:
    def __init__(self, segments: list[Segment]) -> None:
        self.segments = {s.id: s for s in segments}
        self.reads = {s.id: reads(s.when) for s in segments if s.when is not None}
        graph = {sid: set(r.segments) & set(self.segments) for sid, r in self.reads.items()}
        try:
            self.order = [sid for sid in TopologicalSorter(graph).static_order()]
        except CycleError as exc:
            raise SegmentCycle(list(reversed(exc.args[1]))) from exc
        self.position = {sid: i for i, sid in enumerate(self.order)}

    def affected_by(self, event: Event) -> list[Segment]:
        """The segments an event can change for its contact, in evaluation order: those that
        read it, and the segments that read those."""
        named = event.properties.get("segment")
        if event.type in (SEGMENT_RECHECK_DUE, SEGMENT_BACKFILL):
            direct = {named} & set(self.reads) if isinstance(named, str) else set()
        elif event.type in (SEGMENT_ENTERED, SEGMENT_LEFT):  # a static list changed
            readers = {sid for sid, r in self.reads.items() if named in r.segments}
            direct = readers
        else:
            direct = {sid for sid, r in self.reads.items() if self._reads_event(r, event.type)}
        return self.with_dependents(direct)

    def with_dependents(self, ids: set[str]) -> list[Segment]:
        found = set(ids)
        for sid in self.order:  # readers come after what they read
            if sid in self.reads and self.reads[sid].segments & found:
                found.add(sid)
        return [self.segments[sid] for sid in self.order if sid in found and sid in self.reads]

    @staticmethod
    def _reads_event(r: Reads, event_type: str) -> bool:
        return (
            event_type in r.events
            # Activity ends inactivity; a new or changed contact may never have been active.
            or (r.activity and (is_activity(event_type) or event_type in CONTACT_CHANGES))
            # Any event a person sends through the API may set their email, phone or touches.
            or (r.contact and (event_type in CONTACT_CHANGES or is_activity(event_type)))
        )
