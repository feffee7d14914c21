"""Scoring against the store: the pipeline handler that keeps score, reasons and stage.

For each event it reads the contact, asks scoring.py what changed, and commits the new score,
its reasons, the caps' standing, a forward stage move and the decay timer in one transaction
with the `score_changed` / `stage_changed` events (ids derived from the cause: once only).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.events import SCORE_CHANGED, SCORE_DECAY_DUE, STAGE_CHANGED, Event
from chalicelib.leads import scoring as rules
from chalicelib.leads.scoring import ScoreChange, Scoring
from chalicelib.lifecycle import Mover
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.store import timers
from chalicelib.store.changes import Change, Timer
from chalicelib.store.lead_library import LeadLibrary
from chalicelib.store.writer import ContactWriter

SOURCE = "scoring"


def stage_event(
    contact_id: str,
    cause: Event,
    before: str | None,
    after: str,
    reason: str,
    now: datetime,
    source: str = SOURCE,
) -> Event:
    """`stage_changed`, written by whoever moved the stage (its source: scoring, rules,
    sales), with an id derived from its cause."""
    return Event(
        contact_id=contact_id,
        event_id=ids.effect_event_id(cause.event_id, cause.occurred_at, STAGE_CHANGED, after),
        type=STAGE_CHANGED,
        occurred_at=now,
        source=source,
        properties={"from": before, "to": after, "reason": reason, "cause": cause.type},
        caused_by=cause.event_id,
    )


def derived_from(event: Event) -> str | None:
    """The type of the cause the scorekeeper derived this event from, if it did. The
    scorekeeper runs first on every event (services/handlers.py), so the handlers after it
    looked at that cause with this event's change already made."""
    cause = event.properties.get("cause")
    return cause if event.source == SOURCE and isinstance(cause, str) else None


class Scorekeeper:
    def __init__(self, library: LeadLibrary, writer: ContactWriter) -> None:
        self.library = library
        self.writer = writer

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        scoring = self.library.scoring()
        if scoring is None or not event.contact_id.startswith("ct_"):
            return
        if event.source == SOURCE or not self._may_score(scoring, event):
            return
        self.writer.write(
            event.contact_id, lambda contact, now: self.decide(scoring, contact, event, now)
        )

    @staticmethod
    def _may_score(scoring: Scoring, event: Event) -> bool:
        return (
            event.type in rules.PROFILE_EVENTS
            or event.type == SCORE_DECAY_DUE
            or any(event.type in r.types for r in scoring.engagement)
        )

    def decide(
        self, scoring: Scoring, contact: dict[str, Any], event: Event, now: datetime
    ) -> Change | None:
        changes: list[ScoreChange] = []
        if event.type in rules.PROFILE_EVENTS or not contact.get("score_reasons"):
            changes += rules.fit_changes(scoring, contact, now)
        caps = None
        if event.type == SCORE_DECAY_DUE:
            postponed = _engaged_until(contact, event.occurred_at) is not None
            decayed = None if postponed else rules.decay_change(scoring, contact)
            changes += [decayed] if decayed else []
        else:
            engaged, caps = rules.engagement_changes(scoring, contact, event)
            changes += engaged
        have = rules.reasons(contact)
        score = int(contact.get("score") or 0)
        stage = contact.get("stage")
        change = Change.of(contact)
        for c in changes:
            score += c.points
            have[c.rule] = have.get(c.rule, 0) + c.points
            change.score_reasons[c.rule] = have[c.rule]
            change.events.append(self._score_event(contact["id"], event, c, score, now))
        if changes:
            change.attributes["score"] = score
        if caps is not None and caps != (contact.get("score_caps") or {}):
            change.attributes["score_caps"] = caps
        moved = rules.next_stage(scoring, stage, score)
        if moved is not None and change.move_stage(moved[0], Mover.SCORE):
            moved_by = stage_event(contact["id"], event, stage, moved[0].value, moved[1], now)
            if changes:  # the score change that reached the stage: the timeline lists it first
                moved_by = replace(moved_by, caused_by=change.events[-1].event_id)
            change.events.append(moved_by)
        self._decay_timer(scoring, contact, change, changes, event, have, now)
        return None if change.empty else change

    @staticmethod
    def _decay_timer(
        scoring: Scoring,
        contact: dict[str, Any],
        change: Change,
        changes: list[ScoreChange],
        event: Event,
        have: dict[str, int],
        now: datetime,
    ) -> None:
        """Decay comes a week after the last engagement. The contact keeps when that was and
        when the timer is due (`score_decay`): an engagement while a timer is pending leaves
        it alone, and a timer that fires less than a week after an engagement moves to a
        week after it instead of decaying. So a page view a day writes no timer."""
        if scoring.decay is None:
            return
        was = dict(contact.get("score_decay") or {})
        state = dict(was)
        due: datetime | None = None
        if any(c.part == "engagement" and c.points > 0 for c in changes):
            state["engaged_at"] = now.isoformat()
            if timers.pending(state.get("due"), now) is None:
                due = now + rules.DECAY_EVERY
        elif event.type == SCORE_DECAY_DUE:
            remaining = sum(v for k, v in have.items() if k in scoring.engagement_ids())
            due = _engaged_until(contact, event.occurred_at)
            if due is None and remaining > 0:
                due = event.occurred_at + rules.DECAY_EVERY
            # With nothing left to decay, the spent `due` stays: a time past means no timer.
        if due is not None:
            change.timers.append(Timer(rules.DECAY_TIMER, SCORE_DECAY_DUE, due))
            state["due"] = due.isoformat()
        if state != was:
            change.attributes["score_decay"] = state or None

    @staticmethod
    def _score_event(
        contact_id: str, cause: Event, c: ScoreChange, score: int, now: datetime
    ) -> Event:
        return Event(
            contact_id=contact_id,
            event_id=ids.effect_event_id(cause.event_id, cause.occurred_at, SCORE_CHANGED, c.rule),
            type=SCORE_CHANGED,
            occurred_at=now,
            source=SOURCE,
            properties={
                "rule": c.rule,
                "points": c.points,
                "reason": c.reason,
                "part": c.part,
                "score": score,
                "cause": cause.type,
            },
            caused_by=cause.event_id,
        )


def _engaged_until(contact: dict[str, Any], fired_at: datetime) -> datetime | None:
    """A week after the contact's last engagement, if that is still to come when a decay
    timer fires at `fired_at` (the timer was set before that engagement): no decay yet."""
    engaged_at = (contact.get("score_decay") or {}).get("engaged_at")
    if engaged_at is None:
        return None
    until = datetime.fromisoformat(engaged_at) + rules.DECAY_EVERY
    return until if until > fired_at else None
