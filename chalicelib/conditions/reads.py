"""What a condition reads, and so which events can change its verdict.

Segments and journeys both evaluate conditions as events arrive; an event that can change
nothing a condition reads cannot change its verdict, so neither evaluates it (nor reads the
contact for it) on that event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from chalicelib.conditions.language import (
    AllCondition,
    AnyCondition,
    Condition,
    EventCondition,
    FieldCondition,
    InactiveCondition,
    NotCondition,
    SegmentCondition,
)
from chalicelib.events import CONTACT_CHANGES, SEGMENT_ENTERED, SEGMENT_LEFT, is_activity


@dataclass(frozen=True)
class Reads:
    events: frozenset[str] = frozenset()  # event types an event condition counts
    activity: bool = False  # inactive_for: any activity of the person
    contact: bool = False  # fields, tags, stage, score, consent
    segments: frozenset[str] = frozenset()
    windows: bool = False  # a verdict time alone can change
    any_segment: bool = False  # the contact's `segments` field: every entry and exit

    def __or__(self, other: Reads) -> Reads:
        return Reads(
            self.events | other.events,
            self.activity or other.activity,
            self.contact or other.contact,
            self.segments | other.segments,
            self.windows or other.windows,
            self.any_segment or other.any_segment,
        )

    def changed_by(self, event_type: str) -> bool:
        """Whether an event of this type can change what is read (segments aside: which
        segment an entry or exit names is the event's, not its type's)."""
        # Activity ends inactivity, and a new or changed contact may never have been active;
        # any event a person sends through the API may set their email, phone or touches.
        return (
            event_type in self.events
            or ((self.activity or self.contact) and changes_contact(event_type))
            or (self.any_segment and event_type in (SEGMENT_ENTERED, SEGMENT_LEFT))
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
            out = Reads()
            for part in _parts(cond):
                out = out | reads(part)
            return out
        case NotCondition():
            return reads(cond.not_)
        case FieldCondition() if cond.field == "segments":
            return Reads(contact=True, any_segment=True)
    return Reads(contact=True)


def changes_contact(event_type: str) -> bool:
    return event_type in CONTACT_CHANGES or is_activity(event_type)


def lookback(cond: Condition) -> timedelta | None:
    """How far back in the timeline a condition looks, when it looks back a fixed window
    (None: it reads no events, or all of them)."""
    match cond:
        case EventCondition():
            return cond.within if not cond.first else None
        case InactiveCondition():
            return cond.inactive_for
        case AllCondition() | AnyCondition():
            found = [w for w in map(lookback, _parts(cond)) if w is not None]
            return max(found, default=None)
        case NotCondition():
            return lookback(cond.not_)
    return None


def _parts(cond: AllCondition | AnyCondition) -> list[Condition]:
    return cond.all if isinstance(cond, AllCondition) else cond.any
