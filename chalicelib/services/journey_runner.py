"""Journeys against the store: the pipeline's event handler, the tick and its workers.

The engine decides; the runner reads what a decision needs, commits the outcome under the
enrollment's revision and, when it lost a race, re-reads and decides again. Whatever calls it
(a stream batch, a tick, a fan-out worker, all of them at once) each step commits once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from chalicelib.clock import Clock
from chalicelib.errors import Busy
from chalicelib.events import BOOKKEEPING, Event
from chalicelib.journeys.engine import Engine, Outcome, triggered_by
from chalicelib.journeys.enrollment import Enrollment, key_for
from chalicelib.journeys.machine import CompiledJourney
from chalicelib.messaging.queues import ADVANCE, Queues
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.services import scorekeeper
from chalicelib.store import optimistic
from chalicelib.store.contacts import ContactStore
from chalicelib.store.enrollments import EnrollmentStore, JourneyFull, from_model
from chalicelib.store.facts import StoreFacts
from chalicelib.store.journey_library import JourneyLibrary
from chalicelib.store.optimistic import Stale

log = logging.getLogger(__name__)

ADVANCE_BATCH = 100
Decide = Callable[[CompiledJourney, Enrollment, StoreFacts], Outcome | None]


@dataclass
class TickReport:
    due: int = 0
    advanced: int = 0
    fanned_out: int = 0
    messages: int = 0
    failed: int = 0


class JourneyRunner:
    def __init__(
        self,
        library: JourneyLibrary,
        enrollments: EnrollmentStore,
        contacts: ContactStore,
        clock: Clock,
        queues: Queues | None = None,
        inline_limit: int = 200,
    ) -> None:
        self.library = library
        self.enrollments = enrollments
        self.contacts = contacts
        self.clock = clock
        self.queues = queues
        self.inline_limit = inline_limit
        self.engine = Engine(clock)

    def facts(self, contact_id: str) -> StoreFacts:
        return StoreFacts(contact_id, self.contacts, self.enrollments)

    # --- the event pipeline ----------------------------------------------------------------

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        """Exit goals, waits for events, conversions, then triggers: once per event.

        Writes its own transactions (their ids derive from the event), so a re-run after a
        crash finds them done (the pipeline's handler contract, pipeline/registry.py).
        """
        if not event.contact_id.startswith("ct_") or event.type in BOOKKEEPING:
            return
        facts = self.facts(event.contact_id)
        existing = self.enrollments.for_contact(event.contact_id)
        cause = scorekeeper.derived_from(event)  # decided with this event already written
        settled = cause if cause is not None and cause not in BOOKKEEPING else None
        for enrollment in existing:
            if not enrollment.active and enrollment.converted_at is not None:
                continue
            journey = self.library.version(enrollment.journey_id, enrollment.journey_version)
            if not journey.interest.wants(event.type):
                continue
            if settled is not None and journey.interest.settled(event.type, settled):
                continue
            if not enrollment.active and journey.journey.goal is None:
                continue
            self._settle(journey, enrollment, facts, self._receiver(event))
        for journey in self.library.live():
            if triggered_by(journey, event):
                self._enter(journey, event, facts, existing)

    def _receiver(self, event: Event) -> Decide:
        def decide(journey: CompiledJourney, enrollment: Enrollment, facts: StoreFacts):
            return self.engine.receive(journey, enrollment, event, facts)

        return decide

    def _enter(
        self, journey: CompiledJourney, event: Event, facts: StoreFacts, existing: list[Enrollment]
    ) -> None:
        if any(e.key == key_for(journey.id, event.event_id) for e in existing):
            return
        verdict = self.engine.admit(journey, facts, existing)
        if not verdict.holds:
            log.info("%s not entered in %s: %s", event.contact_id, journey.id, verdict.reason)
            return
        key = key_for(journey.id, event.event_id)
        for attempt in range(optimistic.ATTEMPTS):
            outcome = self.engine.enter(journey, event, facts)
            try:
                self.enrollments.commit(outcome, self.clock.now(), journey.journey.entry.max_active)
            except Stale:
                facts.forget()  # the send history moved, or a concurrent run entered first
                if self.enrollments.get(event.contact_id, key) is not None:
                    return
                optimistic.pause(attempt)
                continue
            except JourneyFull:
                log.warning(
                    "%s not entered in %s: max_active reached", event.contact_id, journey.id
                )
                return
            if outcome.sends or outcome.contact is not None:
                facts.forget()
            existing.append(outcome.enrollment)
            return
        raise Busy(f"could not enter {event.contact_id} in {journey.id}")

    # --- time ------------------------------------------------------------------------------

    def tick(self) -> TickReport:
        """Advance what is due, reading only the sparse due index; fan out a large batch."""
        now = self.clock.now()
        report = TickReport()
        due = [
            item
            for shard in self.enrollments.all_shards()
            for item in self.enrollments.due(shard, now)
        ]
        report.due = len(due)
        if self.queues is not None and len(due) > self.inline_limit:
            refs = [{"contact_id": item.contact_id, "key": item.key} for item in due]
            bodies = [
                {"enrollments": refs[i : i + ADVANCE_BATCH]}
                for i in range(0, len(refs), ADVANCE_BATCH)
            ]
            report.messages = self.queues.send_many(ADVANCE, bodies)
            report.fanned_out = len(refs)
            return report
        for item in due:
            self._advance_safely(from_model(item), report)
        return report

    def advance_refs(self, refs: Iterable[dict[str, str]]) -> TickReport:
        """The fan-out worker: advance enrollments named by a tick's message."""
        report = TickReport()
        for ref in refs:
            enrollment = self.enrollments.get(ref["contact_id"], ref["key"])
            if enrollment is not None:
                report.due += 1
                self._advance_safely(enrollment, report)
        return report

    def advance(self, enrollment: Enrollment) -> Outcome | None:
        """Advance one enrollment as read (perhaps stale); None if nothing was due."""
        journey = self.library.version(enrollment.journey_id, enrollment.journey_version)
        return self._settle(
            journey, enrollment, self.facts(enrollment.contact_id), self.engine.advance
        )

    def _advance_safely(self, enrollment: Enrollment, report: TickReport) -> None:
        try:
            if self.advance(enrollment) is not None:
                report.advanced += 1
        except Exception:
            # One broken enrollment must not hold up the rest; it stays due and is retried.
            log.exception("advancing %s/%s failed", enrollment.contact_id, enrollment.key)
            report.failed += 1

    # --- committing --------------------------------------------------------------------------

    def _settle(
        self, journey: CompiledJourney, enrollment: Enrollment, facts: StoreFacts, decide: Decide
    ) -> Outcome | None:
        """Decide and commit; after losing a race, re-read and decide again."""
        for attempt in range(optimistic.ATTEMPTS):
            outcome = decide(journey, enrollment, facts)
            if outcome is None:
                return None
            try:
                self.enrollments.commit(outcome, self.clock.now(), journey.journey.entry.max_active)
            except Stale:
                facts.forget()
                fresh = self.enrollments.get(enrollment.contact_id, enrollment.key)
                if fresh is None:
                    return None
                enrollment = fresh
                optimistic.pause(attempt)
                continue
            if outcome.sends or outcome.contact is not None:
                facts.forget()
            return outcome
        raise Busy(f"enrollment {enrollment.contact_id}/{enrollment.key} kept changing")
