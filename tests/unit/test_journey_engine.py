"""The journey engine's decisions for one enrollment, driven with in-memory facts: the sample
whitepaper journey step by step, as tests/integration/test_journeys.py runs it on the embedded
AWS, without a store (the engine only reads facts and returns an outcome)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import ids
from chalicelib.clock import FakeClock
from chalicelib.content import catalog
from chalicelib.events import ALL_TOPICS, Event
from chalicelib.journeys.engine import Engine, Outcome, SendHistory
from chalicelib.journeys.enrollment import Enrollment
from chalicelib.journeys.machine import CompiledJourney, compile_journey
from tests.builders import ROOT

ADA = "ct_ada"
MONDAY_10_BERLIN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FRIDAY_21_BERLIN = datetime(2026, 1, 9, 20, 0, tzinfo=UTC)
Recorded = list[tuple[str, str | None]]  # (event type, step) of what one outcome recorded


@pytest.fixture(scope="module")
def whitepaper() -> CompiledJourney:
    content = catalog.load(ROOT / "marketing")
    return compile_journey(content.journeys["whitepaper"], 1)


class Memory:
    """What the store would hold for one contact, in memory: the engine's Facts (the contact,
    its timeline, its marketing sends) and the enrollment, with each outcome applied as the
    runner commits it."""

    def __init__(self, contact: dict[str, Any] | None = None) -> None:
        self.profile: dict[str, Any] = {
            "id": ADA,
            "version": 1,
            "email": "ada@example.com",
            **(contact or {}),
        }
        self.timeline: list[Event] = []
        self.sent: list[datetime] = []
        self.enrollment: Enrollment | None = None

    def contact(self) -> dict[str, Any]:
        return self.profile

    def events(self, since: datetime | None) -> list[Event]:
        return [e for e in self.timeline if since is None or e.occurred_at >= since]

    def sends(self) -> SendHistory:
        return SendHistory(tuple(self.sent), len(self.sent))

    def apply(self, out: Outcome | None) -> Recorded:
        """Commit an outcome; what it recorded, as (event type, step)."""
        if out is None:
            return []
        self.timeline += out.events
        self.sent += out.sends
        self.enrollment = out.enrollment
        self.enrollment.revision += 1
        if out.contact is not None:  # the store writes it at the version read, then bumps it
            assert out.contact.version == self.profile["version"]
            self.profile["version"] += 1
        return [(e.type, e.properties.get("step")) for e in out.events]


def _event(clock: FakeClock, type_: str, **properties: Any) -> Event:
    now = clock.now()
    return Event(ADA, ids.event_id(now), type_, now, "test", properties)


def _download(engine: Engine, journey: CompiledJourney, memory: Memory) -> Recorded:
    cause = _event(engine.clock, "form_submitted", form_id="whitepaper")
    memory.timeline.append(cause)
    return memory.apply(engine.enter(journey, cause, memory))


def _at(engine: Engine, journey: CompiledJourney, memory: Memory, when: datetime) -> Recorded:
    engine.clock.set(when)
    assert memory.enrollment is not None
    return memory.apply(engine.advance(journey, memory.enrollment, memory))


def _receive(engine: Engine, journey: CompiledJourney, memory: Memory, event: Event) -> Recorded:
    memory.timeline.append(event)
    assert memory.enrollment is not None
    return memory.apply(engine.receive(journey, memory.enrollment, event, memory))


def test_the_thank_you_goes_at_once_and_the_case_study_three_days_later(whitepaper):
    engine, memory = Engine(FakeClock(MONDAY_10_BERLIN)), Memory()

    entered = _download(engine, whitepaper, memory)

    assert entered == [("journey_entered", None), ("email_queued", "thank-you")]
    assert memory.enrollment.state == "pause"
    assert memory.enrollment.due_at == MONDAY_10_BERLIN + timedelta(days=3)
    assert _at(engine, whitepaper, memory, MONDAY_10_BERLIN + timedelta(days=2)) == []
    later = _at(engine, whitepaper, memory, MONDAY_10_BERLIN + timedelta(days=3))
    assert later == [("email_queued", "case-study")]
    assert memory.enrollment.state == "clicked-case-study"
    assert memory.enrollment.waiting["event"] == ["email_clicked"]


def test_a_contact_already_past_an_exit_goal_gets_the_first_steps_then_leaves(whitepaper):
    engine, memory = Engine(FakeClock(MONDAY_10_BERLIN)), Memory({"stage": "sql"})

    entered = _download(engine, whitepaper, memory)

    assert entered == [
        ("journey_entered", None),
        ("email_queued", "thank-you"),
        ("journey_exited", None),
    ]
    assert memory.timeline[-1].properties["reason"] == "exit goal: stage is sql"
    assert not memory.enrollment.active


def test_each_effect_is_recorded_under_its_own_ledger_key(whitepaper):
    engine, memory = Engine(FakeClock(MONDAY_10_BERLIN)), Memory()
    cause = _event(engine.clock, "form_submitted", form_id="whitepaper")

    out = engine.enter(whitepaper, cause, memory)

    (effect,) = out.effects
    assert (effect.kind, effect.step) == ("email", "thank-you")
    assert effect.payload["template"] == "playbook-thank-you"
    assert effect.payload["transactional"] is True
    assert effect.key.startswith(f"{ADA}#") and effect.key.endswith("#thank-you#1")
    assert out.sends == []  # transactional mail is not counted against the frequency cap


def test_a_case_study_due_in_quiet_hours_waits_for_the_window_in_the_journeys_zone(whitepaper):
    engine, memory = Engine(FakeClock(FRIDAY_21_BERLIN)), Memory()
    assert _download(engine, whitepaper, memory)[-1] == ("email_queued", "thank-you")

    monday_21_berlin = FRIDAY_21_BERLIN + timedelta(days=3)
    assert _at(engine, whitepaper, memory, monday_21_berlin) == [("send_deferred", "case-study")]
    deferred = memory.timeline[-1]
    assert deferred.properties["reason"] == "quiet hours 20:00-08:00 (Europe/Berlin)"
    tuesday_8_berlin = datetime(2026, 1, 13, 7, 0, tzinfo=UTC)
    assert memory.enrollment.due_at == tuesday_8_berlin

    assert _at(engine, whitepaper, memory, tuesday_8_berlin) == [("email_queued", "case-study")]


def test_a_contacts_own_time_zone_wins_over_the_journeys(whitepaper):
    engine, memory = (
        Engine(FakeClock(FRIDAY_21_BERLIN)),
        Memory({"properties": {"timezone": "Asia/Shanghai"}}),
    )
    _download(engine, whitepaper, memory)

    # Monday 20:00 UTC is Tuesday 04:00 in Shanghai: quiet there until 08:00.
    _at(engine, whitepaper, memory, FRIDAY_21_BERLIN + timedelta(days=3))

    assert memory.timeline[-1].properties["reason"] == "quiet hours 20:00-08:00 (Asia/Shanghai)"
    assert memory.enrollment.due_at == datetime(2026, 1, 13, 0, 0, tzinfo=UTC)


def test_a_click_on_the_case_study_moves_on_and_the_frequency_cap_holds_the_demo_offer(
    whitepaper,
):
    engine, memory = Engine(FakeClock(MONDAY_10_BERLIN)), Memory()
    _download(engine, whitepaper, memory)
    _at(engine, whitepaper, memory, MONDAY_10_BERLIN + timedelta(days=3))

    engine.clock.advance(hours=2)
    other = _event(engine.clock, "email_clicked", journey="whitepaper", step="thank-you")
    assert _receive(engine, whitepaper, memory, other) == []  # not the step it waits for
    click = _event(engine.clock, "email_clicked", journey="whitepaper", step="case-study")
    moved = _receive(engine, whitepaper, memory, click)

    assert moved == [("wait_matched", "clicked-case-study"), ("send_deferred", "demo-offer")]
    assert memory.timeline[-1].properties["reason"] == (
        "frequency cap: 1 marketing email(s) per 20h; then quiet hours 20:00-08:00 (Europe/Berlin)"
    )
    friday_8_berlin = datetime(2026, 1, 9, 7, 0, tzinfo=UTC)  # 20 h on is 06:00 in Berlin
    assert memory.enrollment.due_at == friday_8_berlin
    handed = _at(engine, whitepaper, memory, friday_8_berlin)
    assert handed == [
        ("email_queued", "demo-offer"),
        ("contact_updated", "mark-hot"),
        ("handoff_requested", "to-sales"),
        ("journey_completed", "handed-over"),
    ]
    assert memory.enrollment.end_reason == "handed to sales"


def test_no_click_within_three_days_times_out_into_the_nurture_on_a_send_day(whitepaper):
    engine, memory = Engine(FakeClock(MONDAY_10_BERLIN)), Memory()
    _download(engine, whitepaper, memory)
    _at(engine, whitepaper, memory, MONDAY_10_BERLIN + timedelta(days=3))

    sunday = _at(engine, whitepaper, memory, MONDAY_10_BERLIN + timedelta(days=6))

    assert sunday == [("wait_timed_out", "clicked-case-study"), ("send_deferred", "nurture-roi")]
    assert "Sunday is not a send day" in memory.timeline[-1].properties["reason"]
    monday_8_berlin = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)
    assert _at(engine, whitepaper, memory, monday_8_berlin) == [("email_queued", "nurture-roi")]


def test_unsubscribing_from_everything_or_reaching_sql_leaves_the_journey(whitepaper):
    engine, gone, promoted = Engine(FakeClock(MONDAY_10_BERLIN)), Memory(), Memory()
    _download(engine, whitepaper, gone)
    _download(engine, whitepaper, promoted)
    engine.clock.advance(days=1)

    unsubscribed = _event(engine.clock, "unsubscribed", topics=[ALL_TOPICS])
    left = _receive(engine, whitepaper, gone, unsubscribed)
    promoted.profile["stage"] = "sql"
    stage = _event(engine.clock, "stage_changed", to="sql")
    moved_on = _receive(engine, whitepaper, promoted, stage)

    assert left == moved_on == [("journey_exited", None)]
    assert gone.enrollment.end_reason == "unsubscribed from all marketing email"
    assert promoted.enrollment.end_reason == "exit goal: stage is sql"
    assert gone.enrollment.due_at is None and promoted.enrollment.due_at is None


def test_a_demo_booked_within_the_goals_window_counts_a_conversion_once(whitepaper):
    engine, memory = Engine(FakeClock(MONDAY_10_BERLIN)), Memory()
    _download(engine, whitepaper, memory)
    engine.clock.advance(days=10)

    first = _receive(engine, whitepaper, memory, _event(engine.clock, "demo_booked"))
    again = _receive(engine, whitepaper, memory, _event(engine.clock, "demo_booked"))

    assert first == [("journey_converted", None)] and again == []
    assert memory.enrollment.converted_at == MONDAY_10_BERLIN + timedelta(days=10)


def test_re_entry_is_refused_while_in_the_journey_and_for_180_days_after(whitepaper):
    engine, memory = Engine(FakeClock(MONDAY_10_BERLIN)), Memory()
    _download(engine, whitepaper, memory)

    still = engine.admit(whitepaper, memory, [memory.enrollment])
    _receive(engine, whitepaper, memory, _event(engine.clock, "deal_won"))
    engine.clock.advance(days=100)
    soon = engine.admit(whitepaper, memory, [memory.enrollment])
    engine.clock.advance(days=80)
    later = engine.admit(whitepaper, memory, [memory.enrollment])

    assert (still.holds, still.reason) == (False, "still in the journey")
    assert not soon.holds and "re-entry after 180d" in soon.reason
    assert (later.holds, later.reason) == (True, "trigger matched")
