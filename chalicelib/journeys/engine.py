"""The journey engine: pure decisions about one enrollment at one instant.

Given a compiled journey, an enrollment, lazily loaded facts about the contact and the time
from a clock, the engine returns an Outcome: the enrollment's next state, the timeline events
that explain it, and the side effects to record in the ledger. It never writes; the runner
commits an outcome in one conditional transaction, which is what makes each step happen once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.conditions import durations
from chalicelib.conditions.evaluation import Facts as ConditionFacts
from chalicelib.conditions.evaluation import (
    Verdict,
    evaluate,
    event_matches,
    field_value,
    where_matches,
)
from chalicelib.conditions.language import EventCondition
from chalicelib.contact_change import JOURNEY_SCORE_REASON, ContactChange
from chalicelib.effects import Effect
from chalicelib.events import (
    ALL_TOPICS,
    BRANCH_TAKEN,
    CONTACT_UPDATED,
    EMAIL_QUEUED,
    HANDOFF_REQUESTED,
    JOURNEY_COMPLETED,
    JOURNEY_CONVERTED,
    JOURNEY_ENROLLMENT_REQUESTED,
    JOURNEY_ENTERED,
    JOURNEY_EXITED,
    SEGMENT_ENTERED,
    SEND_DEFERRED,
    SPLIT_ASSIGNED,
    STAGE_CHANGED,
    UNSUBSCRIBED,
    WAIT_MATCHED,
    WAIT_TIMED_OUT,
    WEBHOOK_QUEUED,
    Event,
)
from chalicelib.journeys import calendar
from chalicelib.journeys.enrollment import Enrollment, Phase, key_for
from chalicelib.journeys.graph import (
    COMPLETED,
    EXIT,
    EXITED,
    HOLDOUT,
    PROCEED,
    RECEIVED,
    TIMED_OUT,
)
from chalicelib.journeys.language import (
    BranchStep,
    EndStep,
    EnrollStep,
    HandoffStep,
    ReentryAfter,
    SendEmailStep,
    SplitStep,
    Step,
    UpdateStep,
    WaitForStep,
    WaitStep,
    WebhookStep,
)
from chalicelib.journeys.machine import CompiledJourney
from chalicelib.lifecycle import Mover

MAX_STEPS_PER_RUN = 20
SOURCE = "journey"
JOURNEY_ENROLLMENT_REQUESTED = JOURNEY_ENROLLMENT_REQUESTED


@dataclass(frozen=True)
class SendHistory:
    """When the contact was sent marketing email, across journeys, and the item's revision."""

    times: tuple[datetime, ...] = ()
    revision: int = 0


class JourneyFacts(ConditionFacts, Protocol):
    def sends(self) -> SendHistory: ...


@dataclass
class Outcome:
    """What one run decided, to be committed at once or not at all."""

    enrollment: Enrollment
    read_revision: int
    events: list[Event] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    contact: ContactChange | None = None  # what update steps did to the contact
    sends: list[datetime] = field(default_factory=list)
    cap_basis: SendHistory | None = None
    slot: int = 0
    # The steps this run entered, moved on from and exited the journey at, in order: the
    # journey report's step counts.
    entered: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    exited: list[str] = field(default_factory=list)

    @property
    def is_new(self) -> bool:
        return self.read_revision == 0


def contact_zone(contact: dict[str, Any] | Any, default: str) -> str:
    """The contact's own time zone when it names a real one, else the journey's."""
    name = field_value(contact, "timezone")
    if isinstance(name, str) and name:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return default


def triggered_by(journey: CompiledJourney, event: Event) -> bool:
    trigger = journey.journey.trigger
    if event.type == JOURNEY_ENROLLMENT_REQUESTED:
        return event.properties.get("target_journey") == journey.id
    if trigger.segment is not None:
        return event.type == SEGMENT_ENTERED and event.properties.get("segment") == trigger.segment
    return event.type == trigger.event and where_matches(trigger.where, event.properties, None)


WHO = ("email", "phone")
WHO_FIELDS = ("first_name", "last_name", "name", "company")


def _webhook(
    journey: CompiledJourney, step: WebhookStep, contact_id: str, facts: JourneyFacts
) -> dict[str, Any]:
    """What a webhook step hands the courier: where, the author's payload, and whom and which
    step it is about (kept whole in the ledger, so a replay posts the same)."""
    contact = facts.contact()
    props = contact.get("properties") or {}
    who = {"id": contact_id}
    who |= {k: contact[k] for k in WHO if contact.get(k)}
    who |= {k: props[k] for k in WHO_FIELDS if isinstance(props.get(k), str) and props[k]}
    return {
        **({"url": step.webhook.url} if step.webhook.url else {"url_env": step.webhook.url_env}),
        "payload": step.webhook.payload,
        "journey": journey.id,
        "step": step.id,
        "contact": who,
    }


class Engine:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    # --- entering ------------------------------------------------------------------------

    def admit(
        self,
        journey: CompiledJourney,
        facts: JourneyFacts,
        previous: list[Enrollment],
    ) -> Verdict:
        """Whether a triggered contact may enter, given its earlier enrollments here."""
        now = self.clock.now()
        policy = journey.journey.entry.reentry
        mine = [e for e in previous if e.journey_id == journey.id]
        if mine and policy == "never":
            return Verdict(False, "entered before and re-entry is never")
        if mine and isinstance(policy, ReentryAfter):
            if any(e.active for e in mine):
                return Verdict(False, "still in the journey")
            last = max(e.entered_at for e in mine)
            if now - last < policy.after:
                wait = durations.describe(policy.after)
                return Verdict(
                    False, f"entered {durations.describe(now - last)} ago; re-entry after {wait}"
                )
        for cond in journey.journey.entry.conditions:
            verdict = evaluate(cond, facts, now, journey.id)
            if not verdict.holds:
                return Verdict(False, f"entry condition: {verdict.reason}")
        return Verdict(True, "trigger matched")

    def enter(self, journey: CompiledJourney, cause: Event, facts: JourneyFacts) -> Outcome:
        """A new enrollment at the first step, run at once as far as it goes."""
        now = self.clock.now()
        zone = contact_zone(facts.contact(), journey.journey.timezone)
        enrollment = Enrollment(
            contact_id=cause.contact_id,
            key=key_for(journey.id, cause.event_id),
            journey_id=journey.id,
            journey_version=journey.version,
            state=journey.first,
            entered_at=now,
            timezone=zone,
            due_at=now,
            trigger={
                "event_id": cause.event_id,
                "type": cause.type,
                "properties": cause.properties,
            },
            holds_slot=journey.journey.entry.max_active is not None,
        )
        out = Outcome(enrollment, 0, slot=1 if enrollment.holds_slot else 0)
        self._emit(out, JOURNEY_ENTERED, None, {"version": journey.version, "trigger": cause.type})
        self._run(journey, out, facts)
        # Exit goals on the contact are checked once the first steps ran: a contact already
        # past one gets them, then leaves. A run that changed fields an exit reads recorded
        # it (contact_updated), and the check comes with that event, on the fields as written.
        touched = out.contact is not None and out.contact.touches_contact
        deferred = touched and journey.interest.exits.changed_by(CONTACT_UPDATED)
        if enrollment.active and not deferred:
            reason = self._held_exit(journey, facts)
            if reason is not None:
                out.exited.append(enrollment.state)
                journey.fire(enrollment, EXIT)
                self._finish(out, EXITED, reason, None)
        return out

    # --- time ------------------------------------------------------------------------------

    def advance(
        self, journey: CompiledJourney, enrollment: Enrollment, facts: JourneyFacts
    ) -> Outcome | None:
        """Run an enrollment whose due time has come; None if it is not due."""
        due = enrollment.due_at
        if not enrollment.active or due is None or due > self.clock.now():
            return None
        out = Outcome(enrollment.copy(), enrollment.revision)
        self._run(journey, out, facts)
        return out

    # --- events ----------------------------------------------------------------------------

    def receive(
        self, journey: CompiledJourney, enrollment: Enrollment, event: Event, facts: JourneyFacts
    ) -> Outcome | None:
        """Conversion goal, exit goals and wait_for, for one event; None if nothing changed."""
        out = Outcome(enrollment.copy(), enrollment.revision)
        e = out.enrollment
        changed = self._convert(journey, out, event)
        if e.active:
            reason = self._exit_reason(journey, event, facts)
            if reason is not None:
                out.exited.append(e.state)
                journey.fire(e, EXIT)
                self._finish(out, EXITED, reason, None)
                return out
        if e.active and self._awaited(journey, e, event):
            step = e.state
            self._emit(out, WAIT_MATCHED, step, {"event": event.type, "event_id": event.event_id})
            self._move(journey, out, RECEIVED)
            self._run(journey, out, facts)
            return out
        return out if changed else None

    def _convert(self, journey: CompiledJourney, out: Outcome, event: Event) -> bool:
        goal = journey.journey.goal
        e = out.enrollment
        if goal is None or e.converted_at is not None or event.type != goal.event:
            return False
        if not where_matches(goal.where, event.properties, journey.id):
            return False
        if not e.entered_at <= event.occurred_at <= e.entered_at + goal.within:
            return False
        e.converted_at = event.occurred_at
        self._emit(out, JOURNEY_CONVERTED, None, {"goal": goal.event, "event_id": event.event_id})
        return True

    def _exit_reason(
        self, journey: CompiledJourney, event: Event, facts: JourneyFacts
    ) -> str | None:
        if event.type == UNSUBSCRIBED and ALL_TOPICS in (event.properties.get("topics") or ()):
            return "unsubscribed from all marketing email"
        for cond in journey.journey.exit_when:
            if isinstance(cond, EventCondition) and event_matches(
                event, cond.types, cond.where, journey.id
            ):
                return f"exit goal: {event.type}"
        return self._held_exit(journey, facts)

    def _held_exit(self, journey: CompiledJourney, facts: JourneyFacts) -> str | None:
        """The first exit goal that is a condition (not an event) and holds now."""
        now = self.clock.now()
        for cond in journey.journey.exit_when:
            if isinstance(cond, EventCondition):
                continue
            verdict = evaluate(cond, facts, now, journey.id)
            if verdict.holds:
                return f"exit goal: {verdict.reason}"
        return None

    def _awaited(self, journey: CompiledJourney, e: Enrollment, event: Event) -> bool:
        waiting = e.waiting
        if e.phase is not Phase.PARKED or not waiting:
            return False
        if event.occurred_at < datetime.fromisoformat(waiting["since"]):
            return False
        return event_matches(event, tuple(waiting["event"]), waiting.get("where") or {}, journey.id)

    # --- running steps ---------------------------------------------------------------------

    def _run(self, journey: CompiledJourney, out: Outcome, facts: JourneyFacts) -> None:
        e = out.enrollment
        for _ in range(MAX_STEPS_PER_RUN):
            # Read the clock each time: a step that moves on is due at the clock's next reading,
            # and a `now` taken once before the loop would stop a real-time run after one step.
            if not e.active or e.due_at is None or e.due_at > self.clock.now():
                return
            step = journey.step(e.state)
            if e.phase is Phase.ENTER:
                e.visits[step.id] = e.occurrence(step.id) + 1
                out.entered.append(step.id)
                moved = self._start(journey, step, out, facts)
            else:
                moved = self._resume(journey, step, out, facts)
            if not moved:
                return

    def _start(
        self, journey: CompiledJourney, step: Step, out: Outcome, facts: JourneyFacts
    ) -> bool:
        now = self.clock.now()
        e = out.enrollment
        match step:
            case SendEmailStep():
                return self._send(journey, step, out, facts)
            case WaitStep():
                return self._wait(journey, step, out, facts)
            case WaitForStep():
                w = step.wait_for
                e.phase = Phase.PARKED
                e.due_at = now + w.timeout if w.timeout else None
                e.waiting = {
                    "event": list(w.types),
                    "where": dict(w.where),
                    "since": now.isoformat(),
                }
                return False
            case BranchStep():
                return self._branch(journey, step, out, facts)
            case SplitStep():
                return self._split(journey, step, out)
            case UpdateStep():
                self._update(journey, step, out, facts)
            case HandoffStep():
                payload = step.handoff.model_dump(exclude_none=True)
                self._effect(journey, out, step, "handoff", HANDOFF_REQUESTED, payload)
            case WebhookStep():
                payload = _webhook(journey, step, e.contact_id, facts)
                self._effect(journey, out, step, "webhook", WEBHOOK_QUEUED, payload)
            case EnrollStep():
                payload = {"target_journey": step.enroll}
                self._effect(journey, out, step, "enroll", JOURNEY_ENROLLMENT_REQUESTED, payload)
            case EndStep():
                reason = step.end.reason if step.end and step.end.reason else "reached the end"
                out.left.append(step.id)
                journey.fire(e, PROCEED)
                self._finish(out, COMPLETED, reason, step.id)
                return False
        return self._move(journey, out, PROCEED)

    def _resume(
        self, journey: CompiledJourney, step: Step, out: Outcome, facts: JourneyFacts
    ) -> bool:
        match step:
            case WaitForStep():
                types = "/".join(step.wait_for.types)
                self._emit(out, WAIT_TIMED_OUT, step.id, {"waited_for": types})
                return self._move(journey, out, TIMED_OUT)
            case SendEmailStep():
                return self._send(journey, step, out, facts)
        return self._move(journey, out, PROCEED)

    def _move(
        self, journey: CompiledJourney, out: Outcome, trigger: str, choose: Any = None
    ) -> bool:
        e = out.enrollment
        source = e.state
        out.left.append(source)
        target = journey.fire(e, trigger, choose)
        if target == HOLDOUT:
            self._finish(out, HOLDOUT, "held out of the journey", source)
            return False
        if target == COMPLETED:
            self._finish(out, COMPLETED, "reached the end", source)
            return False
        e.phase = Phase.ENTER
        e.due_at = self.clock.now()
        e.waiting = None
        return True

    def _finish(self, out: Outcome, state: str, reason: str, step: str | None) -> None:
        e = out.enrollment
        e.state = state
        e.ended_at = self.clock.now()
        e.end_reason = reason
        e.due_at = None
        e.waiting = None
        if e.holds_slot:
            out.slot -= 1
            e.holds_slot = False
        kind = JOURNEY_EXITED if state == EXITED else JOURNEY_COMPLETED
        self._emit(out, kind, step, {"outcome": state, "reason": reason})

    def _park(self, e: Enrollment, until: datetime) -> None:
        e.phase = Phase.PARKED
        e.due_at = until
        e.waiting = None

    # --- the steps -------------------------------------------------------------------------

    def _send(
        self, journey: CompiledJourney, step: SendEmailStep, out: Outcome, facts: JourneyFacts
    ) -> bool:
        spec = step.send_email
        e = out.enrollment
        if spec.marketing:
            hold = self._hold(journey, out, facts)
            if hold is not None:
                until, reason = hold
                self._park(e, until)
                extra = {"reason": reason, "until": until.isoformat()}
                self._emit(out, SEND_DEFERRED, step.id, extra, salt=until.isoformat())
                return False
            out.sends.append(self.clock.now())
        payload = {
            "template": spec.template,
            "subject": spec.subject,
            "from": spec.from_,
            "reply_to": spec.reply_to,
            "topic": spec.topic,
            "transactional": spec.transactional,
        }
        self._effect(
            journey,
            out,
            step,
            "email",
            EMAIL_QUEUED,
            {k: v for k, v in payload.items() if v is not None},
        )
        return self._move(journey, out, PROCEED)

    def _hold(
        self, journey: CompiledJourney, out: Outcome, facts: JourneyFacts
    ) -> tuple[datetime, str] | None:
        """Until when a marketing send must wait, and why; None to send now."""
        now = self.clock.now()
        settings = journey.journey
        when, reason = now, ""
        cap = settings.frequency_cap
        if cap is not None:
            history = facts.sends()
            out.cap_basis = history
            recent = sorted(t for t in (*history.times, *out.sends) if t > now - cap.per)
            if len(recent) >= cap.max:
                when = recent[-cap.max] + cap.per
                reason = (
                    f"frequency cap: {cap.max} marketing email(s) per {durations.describe(cap.per)}"
                )
        zone = ZoneInfo(out.enrollment.timezone)
        window = calendar.next_send_window(when, zone, settings.quiet_hours, settings.send_days)
        if window > when:
            local = when.astimezone(zone)
            allowed = {d.number for d in settings.send_days or ()}
            if allowed and local.weekday() not in allowed:
                why = f"{local:%A} is not a send day"
            else:
                q = settings.quiet_hours
                why = (
                    f"quiet hours {q.start:%H:%M}-{q.end:%H:%M}" if q else "outside the send window"
                )
            reason = f"{reason}; then {why}" if reason else why
            reason += f" ({out.enrollment.timezone})"
            when = window
        return (when, reason) if when > now else None

    def _wait(
        self, journey: CompiledJourney, step: WaitStep, out: Outcome, facts: JourneyFacts
    ) -> bool:
        now = self.clock.now()
        e = out.enrollment
        spec = step.wait
        zone = ZoneInfo(e.timezone)
        if spec.for_ is not None:
            until: datetime | None = now + spec.for_
        else:
            assert spec.until is not None
            u = spec.until
            if u.date_field:
                value = field_value(facts.contact(), u.date_field)
                until = calendar.next_date_at(now, zone, value, u.at, u.yearly)
                if until is None:
                    journey.fire(e, EXIT)
                    out.exited.append(step.id)
                    self._finish(out, EXITED, f"{u.date_field} holds no date to wait for", step.id)
                    return False
            else:
                until = calendar.next_weekday_at(now, zone, u.weekdays, u.at)
        assert until is not None
        self._park(e, until)
        return False

    def _branch(
        self, journey: CompiledJourney, step: BranchStep, out: Outcome, facts: JourneyFacts
    ) -> bool:
        now = self.clock.now()
        verdicts: dict[int, Verdict] = {}

        def choose(i: int) -> bool:
            verdicts[i] = evaluate(step.branch.cases[i].when, facts, now, journey.id)
            return verdicts[i].holds

        e = out.enrollment
        moved = self._move(journey, out, PROCEED, choose)
        taken = next((i for i, v in verdicts.items() if v.holds), None)
        if taken is None:
            reason = "; ".join(v.reason for v in verdicts.values())
            path = "otherwise"
        else:
            reason, path = verdicts[taken].reason, f"case {taken + 1}"
        self._emit(
            out,
            BRANCH_TAKEN,
            step.id,
            {"path": path, "goto": e.state, "reason": reason},
        )
        return moved

    def _split(self, journey: CompiledJourney, step: SplitStep, out: Outcome) -> bool:
        e = out.enrollment
        seed = f"{e.key}|{step.id}|{e.occurrence(step.id)}".encode()
        bucket = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big") % 100
        bounds, low = [], 0
        for path in step.split:
            bounds.append((low, low + path.percent))
            low += path.percent
        moved = self._move(journey, out, PROCEED, lambda i: bounds[i][0] <= bucket < bounds[i][1])
        path = "holdout" if e.state == HOLDOUT else e.state
        self._emit(out, SPLIT_ASSIGNED, step.id, {"path": path, "bucket": bucket})
        return moved

    def _update(
        self, journey: CompiledJourney, step: UpdateStep, out: Outcome, facts: JourneyFacts
    ) -> None:
        spec = step.update
        contact = facts.contact()
        record: dict[str, Any] = {"changes": spec.model_dump(mode="json", exclude_none=True)}
        moved = before = None
        if not contact:  # erased: nothing to write, and nothing of its data to record
            record = {"skipped": "the contact is gone"}
        else:
            change = out.contact
            if change is None:
                change = out.contact = ContactChange.of(contact)
            if spec.score:
                change.attributes["score"] = int(
                    change.attributes.get("score", contact.get("score") or 0)
                )
                change.attributes["score"] += spec.score
                read = (contact.get("score_reasons") or {}).get(JOURNEY_SCORE_REASON) or 0
                total = change.score_reasons.get(JOURNEY_SCORE_REASON, int(read))
                change.score_reasons[JOURNEY_SCORE_REASON] = total + spec.score
            for tag in spec.tags.add if spec.tags else ():
                change.tag(tag)
            for tag in spec.tags.remove if spec.tags else ():
                change.untag(tag)
            change.properties.update(spec.fields or {})
            if spec.stage:
                before = change.current_stage
                moved = change.move_stage(spec.stage, Mover.JOURNEY)
                if moved is None and before != spec.stage:
                    record["stage_kept"] = before  # journeys climb the ladder; rules go back
        self._effect(journey, out, step, "update", CONTACT_UPDATED, record)
        if moved is not None:
            self._emit(out, STAGE_CHANGED, step.id, {"from": before, "to": moved.value})

    # --- records ---------------------------------------------------------------------------

    def _effect(
        self,
        journey: CompiledJourney,
        out: Outcome,
        step: Step,
        kind: str,
        event_type: str,
        payload: dict[str, Any],
    ) -> None:
        e = out.enrollment
        ledger = f"{e.contact_id}#{e.key}#{step.id}#{e.occurrence(step.id)}"
        out.effects.append(Effect(ledger, kind, payload, step.id))
        self._emit(out, event_type, step.id, {**payload, "ledger": ledger})

    def _emit(
        self,
        out: Outcome,
        type_: str,
        step: str | None,
        properties: dict[str, Any],
        salt: str = "",
    ) -> None:
        e = out.enrollment
        now = self.clock.now()
        where = step or ""
        occurrence = str(e.occurrence(where)) if where else ""
        # Ids carry a millisecond per event the process stamps for the contact, so a timeline
        # (sorted by id) lists what one run, and the runs of one tick, did in that order.
        at = ids.timeline_instant(e.contact_id, now)
        event_id = ids.derived_event_id(at, e.key, type_, where, occurrence, salt)
        props = {"journey": e.journey_id, "version": e.journey_version, "enrollment": e.key}
        if step is not None:
            props["step"] = step
        out.events.append(
            Event(
                contact_id=e.contact_id,
                event_id=event_id,
                type=type_,
                occurred_at=now,
                source=SOURCE,
                properties={**props, **properties},
                caused_by=e.trigger.get("event_id"),
            )
        )
