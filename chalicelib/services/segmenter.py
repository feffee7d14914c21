"""Segment membership, kept current one event at a time.

The pipeline hands every event to `on_event`. Only the segments that event can affect are
evaluated (segments/book.py), for its contact only, against the contact as read; entering and
leaving write `segment_entered` / `segment_left` (journeys trigger on them), the contact's
`segments` set (branches and other segments read it), the members table and the size
counter, all in one transaction at the contact's version. A segment with a time window sets
the contact's own re-check timer for the moment the window can next change its verdict, so
"no activity in 90 days" is decided on the right day without reading anyone else. The contact
keeps when each timer is set for (`segment_rechecks`), and a timer is moved only earlier:
one set too early re-checks, finds the window open and sets itself again, so daily activity
costs one timer write a window, not one a day.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.conditions.reads import lookback, reads
from chalicelib.events import (
    SEGMENT_BACKFILL,
    SEGMENT_ENTERED,
    SEGMENT_LEFT,
    SEGMENT_RECHECK_DUE,
    Event,
)
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.segments import membership
from chalicelib.segments.language import Segment
from chalicelib.services import scorekeeper
from chalicelib.store import timers
from chalicelib.store.backfills import Backfills
from chalicelib.store.changes import Change, CounterMove, Timer
from chalicelib.store.facts import ReadFacts
from chalicelib.store.segment_library import SegmentLibrary
from chalicelib.store.segments import size_key
from chalicelib.store.writer import ContactWriter

log = logging.getLogger(__name__)
CHECKPOINT_EVERY = 100  # contacts between two saves of where a backfill got to
SOURCE = "segments"
LISTS = "lists"  # the source of a static list's entries and exits


def timer_name(segment_id: str) -> str:
    return f"segment:{segment_id}"


@dataclass(frozen=True)
class Explanation:
    segment: str
    inside: bool
    holds: bool
    reason: str


class Segmenter:
    def __init__(
        self, library: SegmentLibrary, writer: ContactWriter, backfills: Backfills | None = None
    ) -> None:
        self.library = library
        self.writer = writer
        self.backfills = backfills or Backfills()

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        if not event.contact_id.startswith("ct_") or event.source == SOURCE:
            return
        book = self.library.book()
        settled = scorekeeper.derived_from(event)  # its cause's segments saw it
        segments = book.affected_by(event, settled) if book else []
        if segments:
            self.settle(event, segments)

    def settle(self, cause: Event, segments: list[Segment]) -> Change | None:
        """Evaluate `segments` for the cause's contact and commit what changed."""
        return self.writer.write(
            cause.contact_id, lambda contact, now: self.decide(segments, contact, cause, now)
        )

    def decide(
        self, segments: list[Segment], contact: dict[str, Any], cause: Event, now: datetime
    ) -> Change:
        windows = [w for s in segments if s.when is not None and (w := lookback(s.when))]
        facts = ReadFacts(contact, now - max(windows) if windows else None)
        decided = membership.decide(segments, facts, now)
        change = Change.of(contact)
        # A window that closed left the segment when its re-check was due, not when the tick
        # came round to it.
        at = cause.occurred_at if cause.type == SEGMENT_RECHECK_DUE else now
        for i, move in enumerate(decided.moves, 1):
            kind = SEGMENT_ENTERED if move.entered else SEGMENT_LEFT
            change.events.append(
                Event(
                    contact_id=change.contact_id,
                    event_id=ids.effect_event_id(
                        cause.event_id, cause.occurred_at, kind, move.segment, order=i
                    ),
                    type=kind,
                    occurred_at=at,
                    source=SOURCE,
                    properties={"segment": move.segment, "reason": move.reason},
                    caused_by=cause.event_id if cause.type != SEGMENT_BACKFILL else None,
                )
            )
            change.memberships[move.segment] = move.entered
            change.counters.append(CounterMove(size_key(move.segment), 1 if move.entered else -1))
        if decided.moves:
            change.attributes["segments"] = decided.inside or None
        windowed = {s.id for s in segments if _has_window(s)}
        was = dict(contact.get("segment_rechecks") or {})
        rechecks = dict(was)
        for segment_id, due in decided.rechecks.items():
            if due is not None:
                if _armed_by(was.get(segment_id), due, now):
                    continue
                props = {"segment": segment_id}
                change.timers.append(Timer(timer_name(segment_id), SEGMENT_RECHECK_DUE, due, props))
                rechecks[segment_id] = due.isoformat()
            elif segment_id in windowed and cause.type == SEGMENT_RECHECK_DUE:
                change.cancel.append(timer_name(segment_id))
                rechecks.pop(segment_id, None)
        if rechecks != was:
            change.attributes["segment_rechecks"] = rechecks or None
        return change

    def explain(self, segment: Segment, contact: dict[str, Any], now: datetime) -> Explanation:
        """For one contact: whether it is in the segment, whether the condition holds now,
        and the evaluator's reason (for `leadflow segments explain`)."""
        inside = segment.id in set(contact.get("segments") or ())
        if segment.when is None:
            said = "on the list" if inside else "not on the list"
            return Explanation(segment.id, inside, inside, f"{said} (a list changes by hand)")
        verdict = membership.decide([segment], ReadFacts(contact), now).verdicts[segment.id]
        return Explanation(segment.id, inside, verdict.holds, verdict.reason)

    def change_list(
        self, segment: Segment, contact_id: str, add: bool, by: str, cause_id: str
    ) -> bool:
        """Add a contact to a static list, or take it off; False if it already was (or was
        not) on it. Lists change only this way: by hand, never by rules."""
        if not segment.static:
            raise ValueError(f"{segment.id} is a dynamic segment: its condition decides")
        cause = Event(contact_id, cause_id, SEGMENT_BACKFILL, self.writer.clock.now(), LISTS, {})

        def decide(contact: dict[str, Any], now: datetime) -> Change | None:
            inside = set(contact.get("segments") or ())
            if (segment.id in inside) == add:
                return None
            change = Change.of(contact, segments=(inside | {segment.id}) if add else None)
            if not add:
                change.attributes["segments"] = (inside - {segment.id}) or None
            kind = SEGMENT_ENTERED if add else SEGMENT_LEFT
            change.events.append(
                Event(
                    contact_id=change.contact_id,
                    event_id=ids.effect_event_id(cause.event_id, now, kind, segment.id),
                    type=kind,
                    occurred_at=now,
                    source=LISTS,
                    properties={"segment": segment.id, "by": by},
                )
            )
            change.memberships[segment.id] = add
            change.counters.append(CounterMove(size_key(segment.id), 1 if add else -1))
            return change

        return self.writer.write(contact_id, decide, must_exist=True) is not None

    def backfill(
        self,
        versions: dict[str, int],
        contacts: Callable[[str | None], Iterator[str]],
        progress: Callable[[int], None] = lambda n: None,
    ) -> Backfilled:
        """Evaluate new versions of segments, and the segments that read them, for every
        contact, in one pass in evaluation order (a segment before those that read it, so
        nobody enters `not vips` on the way). Each contact's moves commit at once with its
        membership, and the pass saves where it got to every page: run again after an
        interruption, it resumes there, and moves nobody twice."""
        book = self.library.book()
        segments = book.with_dependents(set(versions)) if book else []
        if not segments:
            return Backfilled(0, 0)
        names = sorted(s.id for s in segments)
        job = hashlib.sha256(json.dumps(sorted(versions.items())).encode()).hexdigest()[:24]
        after, done = self.backfills.resume_point(job)
        resumed, moved = done, 0
        progress(done)
        for contact_id in contacts(after):
            at = self.writer.clock.now()
            cause = Event(
                contact_id=contact_id,
                event_id=ids.derived_event_id(at, "backfill", contact_id, *names),
                type=SEGMENT_BACKFILL,
                occurred_at=at,
                source=SOURCE,
                properties={"segments": names},
            )
            change = self.settle(cause, segments)
            moved += len(change.memberships) if change is not None else 0
            done += 1
            if done % CHECKPOINT_EVERY == 0:
                self.backfills.save(job, contact_id, done, at)
            progress(done)
        self.backfills.finish(job, names, self.writer.clock.now())
        return Backfilled(moved, resumed)


@dataclass(frozen=True)
class Backfilled:
    moved: int
    resumed: int  # contacts an interrupted run had done already


def _armed_by(set_for: str | None, due: datetime, now: datetime) -> bool:
    """Whether a timer still to fire is set no later than `due`. A later window does not move
    it: when it fires, the segment is evaluated, nothing has closed, and the timer is set
    for the window then. So a page view a day moves a 90-day window once in 90 days, not
    daily. A time already past is set again (timers.pending)."""
    standing = timers.pending(set_for, now)
    return standing is not None and standing <= due


def _has_window(segment: Segment) -> bool:
    return segment.when is not None and reads(segment.when).windows
