"""Which segments a contact is in after something happened, and why; pure.

Given the segments an event can affect (in evaluation order), the contact as read and its
facts, decide who enters and who leaves, with the evaluator's reason for each, and when each
segment with a time window must look again (`conditions.windows.changes_at`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.conditions.evaluation import Facts, Verdict, evaluate
from chalicelib.conditions.windows import changes_at
from chalicelib.events import Event
from chalicelib.segments.language import Segment


@dataclass(frozen=True)
class Move:
    segment: str
    entered: bool
    reason: str


@dataclass
class Membership:
    inside: set[str]
    moves: list[Move] = field(default_factory=list)
    rechecks: dict[str, datetime | None] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)


class _Seen:
    """The facts, with the contact's segments as this pass has decided them so far, so a
    segment of segments reads memberships settled earlier in the same pass."""

    def __init__(self, facts: Facts, inside: set[str]) -> None:
        self._facts = facts
        self._inside = inside

    def contact(self) -> Mapping[str, Any]:
        return {**self._facts.contact(), "segments": sorted(self._inside)}

    def events(self, since: datetime | None) -> list[Event]:
        return self._facts.events(since)


def decide(segments: list[Segment], facts: Facts, now: datetime) -> Membership:
    inside = set(facts.contact().get("segments") or ())
    out = Membership(inside)
    seen = _Seen(facts, inside)
    for segment in segments:
        assert segment.when is not None, "static lists are not evaluated"
        verdict = evaluate(segment.when, seen, now, None)
        out.verdicts[segment.id] = verdict
        if verdict.holds != (segment.id in inside):
            out.moves.append(Move(segment.id, verdict.holds, verdict.reason))
            (inside.add if verdict.holds else inside.discard)(segment.id)
        out.rechecks[segment.id] = changes_at(segment.when, seen, now)
    return out
