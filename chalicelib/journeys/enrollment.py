"""An enrollment: one contact's trip through one version of one journey.

A light model the compiled machine moves by its `state`; restored from its DynamoDB item for
each step and written back under its `revision`, so two writers cannot both advance it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.journeys.graph import TERMINAL


class Phase(StrEnum):
    ENTER = "enter"  # the current step has not run yet
    PARKED = "parked"  # it ran and waits for its due time or an event


@dataclass
class Enrollment:
    contact_id: str
    key: str
    journey_id: str
    journey_version: int
    state: str
    entered_at: datetime
    timezone: str
    revision: int = 0
    phase: Phase = Phase.ENTER
    due_at: datetime | None = None
    waiting: dict[str, Any] | None = None
    visits: dict[str, int] = field(default_factory=dict)
    trigger: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    converted_at: datetime | None = None
    holds_slot: bool = False

    @property
    def active(self) -> bool:
        return self.state not in TERMINAL

    @property
    def stored(self) -> bool:
        return self.revision > 0

    def occurrence(self, step_id: str) -> int:
        return self.visits.get(step_id, 0)

    def copy(self) -> Enrollment:
        return replace(
            self,
            visits=dict(self.visits),
            waiting=dict(self.waiting) if self.waiting else None,
            trigger=dict(self.trigger),
        )


def key_for(journey_id: str, entry_event_id: str) -> str:
    """Derived from the event that caused entry, so re-processing it cannot enroll twice."""
    return f"{journey_id}#{entry_event_id}"
