"""Which events a journey's enrollments can react to: its goal, its exit goals (their events,
or for a condition, the events that can change what it reads), its waits, and an unsubscribe
from everything.

An enrollment reacts to an event only through these, so an event none of them names (an
email queued, another journey entered) leaves it as it is, and the runner neither reads the
contact for it nor decides anything. Computed once per compiled version.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.conditions.language import EventCondition
from chalicelib.conditions.reads import Reads, reads
from chalicelib.events import SEGMENT_ENTERED, SEGMENT_LEFT, UNSUBSCRIBED
from chalicelib.journeys.language import Journey, WaitForStep


@dataclass(frozen=True)
class Interest:
    named: frozenset[str]  # goal, exit events, waits and unsubscribing from everything
    exits: Reads  # what the exit goals that are not plain events read

    def wants(self, event_type: str) -> bool:
        return (
            event_type in self.named
            # A window can close between two events, so a windowed goal looks at every one.
            or self.exits.windows
            or self.exits.changed_by(event_type)
            or (bool(self.exits.segments) and event_type in (SEGMENT_ENTERED, SEGMENT_LEFT))
        )

    def settled(self, event_type: str, cause_type: str) -> bool:
        """Whether an event derived from a cause, and on the timeline when the cause was
        decided, needs no look of its own: it reaches this journey only through exits on the
        contact (no name, no window), and the cause reached the same exits."""
        return (
            event_type not in self.named
            and not self.exits.windows
            and event_type not in (SEGMENT_ENTERED, SEGMENT_LEFT)
            and self.exits.changed_by(cause_type)
        )


def interest_of(journey: Journey) -> Interest:
    named = {UNSUBSCRIBED}
    if journey.goal is not None:
        named.add(journey.goal.event)
    exits = Reads()
    for cond in journey.exit_when:
        if isinstance(cond, EventCondition):
            named.update(cond.types)
        else:
            exits = exits | reads(cond)
    for step in journey.steps:
        if isinstance(step, WaitForStep):
            named.update(step.wait_for.types)
    return Interest(frozenset(named), exits)
