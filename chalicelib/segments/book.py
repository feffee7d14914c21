"""The live segments, ordered so that a segment comes after the segments it reads, and what
each one reads: which events, the contact's fields, other segments, time windows.

That is what makes membership incremental: an event re-evaluates only the segments it can
affect, for its own contact, and the segments that read those come after them in the same
pass (segments of segments settle at once).
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from chalicelib.conditions.language import (
    AllCondition,
    AnyCondition,
    Condition,
    NotCondition,
    SegmentCondition,
)
from chalicelib.conditions.reads import reads
from chalicelib.events import (
    SEGMENT_BACKFILL,
    SEGMENT_ENTERED,
    SEGMENT_LEFT,
    SEGMENT_RECHECK_DUE,
    Event,
)
from chalicelib.segments.language import Segment


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


# Events that name the segment they concern: what they reach depends on more than their type.
_NAMING = (SEGMENT_RECHECK_DUE, SEGMENT_BACKFILL, SEGMENT_ENTERED, SEGMENT_LEFT)


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

    def affected_by(self, event: Event, settled: str | None = None) -> list[Segment]:
        """The segments an event can change for its contact, in evaluation order: those that
        read it, and the segments that read those.

        `settled`: the type of an event already evaluated with this one on the timeline (its
        cause, when the event was derived before the cause's segments were evaluated). The
        segments that cause reached are current and are left out, unless they read one that
        is not."""
        named = event.properties.get("segment")
        if event.type in (SEGMENT_RECHECK_DUE, SEGMENT_BACKFILL):
            direct = {named} & set(self.reads) if isinstance(named, str) else set()
        elif event.type in (SEGMENT_ENTERED, SEGMENT_LEFT):  # a static list changed
            readers = {sid for sid, r in self.reads.items() if named in r.segments or r.any_segment}
            direct = readers
        else:
            direct = self._changed_by(event.type)
        if settled is not None and settled not in _NAMING:
            direct -= {s.id for s in self.with_dependents(self._changed_by(settled))}
        return self.with_dependents(direct)

    def _changed_by(self, event_type: str) -> set[str]:
        return {sid for sid, r in self.reads.items() if r.changed_by(event_type)}

    def with_dependents(self, ids: set[str]) -> list[Segment]:
        found = set(ids)
        for sid in self.order:  # readers come after what they read
            if sid in self.reads and self.reads[sid].segments & found:
                found.add(sid)
        return [self.segments[sid] for sid in self.order if sid in found and sid in self.reads]
