"""The journey engine end to end on the embedded AWS: forms and events in, timed steps by the
tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import ids
from chalicelib.events import Event
from chalicelib.leads.identity import Identity
from chalicelib.leads.intake import Intake
from chalicelib.store.models import ContactModel, EnrollmentModel, LedgerModel
from chalicelib.store.optimistic import Stale
from tests.builders import lead, post_json, track

ADA = ids.contact_id("email", "ada@example.com")
MONDAY_10_BERLIN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FRIDAY_21_BERLIN = datetime(2026, 1, 9, 20, 0, tzinfo=UTC)


def _download(client, journeys, when: datetime) -> None:
    journeys.clock.set(when)
    assert post_json(client, lead()).status_code == 201
    journeys.settle()


def _enrollments(contact_id: str = ADA) -> list[EnrollmentModel]:
    return list(EnrollmentModel.query(contact_id))


def test_whitepaper_sends_thank_you_at_once_and_the_case_study_three_days_later(client, journeys):
    _download(client, journeys, MONDAY_10_BERLIN)
    assert journeys.emails(ADA) == [("thank-you", MONDAY_10_BERLIN)]

    journeys.later(days=3)

    assert journeys.emails(ADA) == [
        ("thank-you", MONDAY_10_BERLIN),
        ("case-study", MONDAY_10_BERLIN + timedelta(days=3)),
    ]
    messages = journeys.svc.queues.receive("sends")
    assert {m.body["step"] for m in messages} == {"thank-you", "case-study"}
    assert all(m.body["ledger"].startswith(ADA) for m in messages)


def test_the_contact_view_shows_where_the_contact_is_in_each_journey(client, journeys, admin_key):
    _download(client, journeys, MONDAY_10_BERLIN)
    view = client.http.get(f"/contacts/{ADA}", headers={"X-Api-Key": admin_key}).json_body
    whitepaper = next(j for j in view["journeys"] if j["journey"] == "whitepaper")
    assert whitepaper["state"] == "pause"
    assert whitepaper["due_at"].startswith("2026-01-08T09:00")


def test_a_case_study_due_in_quiet_hours_goes_at_the_next_window(client, journeys):
    _download(client, journeys, FRIDAY_21_BERLIN)
    assert journeys.emails(ADA) == [("thank-you", FRIDAY_21_BERLIN)]  # transactional

    journeys.later(days=3)  # Monday 21:00 in Berlin: quiet hours until 08:00
    deferred = [e for e in journeys.timeline(ADA) if e.type == "send_deferred"]
    assert [e.properties["step"] for e in deferred] == ["case-study"]
    assert "quiet hours 20:00-08:00" in deferred[0].properties["reason"]

    journeys.at(datetime(2026, 1, 13, 7, 0, tzinfo=UTC))  # Tuesday 08:00 in Berlin
    assert journeys.emails(ADA)[-1] == ("case-study", datetime(2026, 1, 13, 7, 0, tzinfo=UTC))


def test_a_click_on_the_case_study_leads_to_the_demo_offer_and_a_handoff(client, journeys):
    _download(client, journeys, MONDAY_10_BERLIN)
    journeys.later(days=3)
    journeys.clock.advance(days=1)
    journeys.event(ADA, "email_clicked", journey="whitepaper", step="case-study")
    journeys.later(hours=20)  # the frequency cap (one per 20 h) holds the demo offer

    steps = [step for step, _ in journeys.emails(ADA)]
    assert steps == ["thank-you", "case-study", "demo-offer"]
    kinds = [e.type for e in journeys.timeline(ADA) if e.properties.get("journey") == "whitepaper"]
    assert "handoff_requested" in kinds and kinds[-1] == "journey_completed"
    contact = ContactModel.get(ADA)
    assert contact.tags == {"playbook-engaged"} and contact.score_reasons["journeys"] == 20
    assert contact.score == sum(contact.score_reasons.as_dict().values())


def test_no_click_within_three_days_moves_the_lead_to_the_nurture(client, journeys):
    _download(client, journeys, MONDAY_10_BERLIN)
    journeys.later(days=3)
    journeys.later(days=3)  # Sunday: the wait is over, but Sunday is not a send day
    deferred = [e for e in journeys.timeline(ADA) if e.type == "send_deferred"]
    assert "Sunday is not a send day" in deferred[-1].properties["reason"]

    monday_8_berlin = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)
    journeys.at(monday_8_berlin)
    assert journeys.emails(ADA)[-1] == ("nurture-roi", monday_8_berlin)
    timed_out = [e for e in journeys.timeline(ADA) if e.type == "wait_timed_out"]
    assert [e.properties["step"] for e in timed_out] == ["clicked-case-study"]


def test_a_click_on_another_journeys_step_does_not_count(client, journeys):
    _download(client, journeys, MONDAY_10_BERLIN)
    journeys.later(days=3)
    journeys.event(ADA, "email_clicked", journey="newsletter-welcome", step="case-study")
    journeys.at(datetime(2026, 1, 12, 7, 0, tzinfo=UTC))
    assert [step for step, _ in journeys.emails(ADA)][-1] == "nurture-roi"


def test_a_tick_run_twice_sends_each_email_once(client, journeys):
    _download(client, journeys, MONDAY_10_BERLIN)
    journeys.clock.advance(days=3)
    first = journeys.svc.journeys.tick()
    second = journeys.svc.journeys.tick()
    journeys.settle()

    assert (first.advanced, second.advanced) == (1, 0)
    assert [step for step, _ in journeys.emails(ADA)] == ["thank-you", "case-study"]
    assert len([e for e in LedgerModel.scan() if e.step == "case-study"]) == 1


def test_two_ticks_racing_on_one_enrollment_send_once(client, journeys):
    _download(client, journeys, MONDAY_10_BERLIN)
    journeys.clock.advance(days=3)
    svc = journeys.svc
    (read_by_both,) = [e for e in svc.enrollments.for_contact(ADA) if e.journey_id == "whitepaper"]

    winner = svc.journeys.advance(read_by_both)
    loser = svc.journeys.advance(read_by_both)  # the same stale read: re-reads, finds it done
    journeys.settle()

    assert winner is not None and loser is None
    assert [step for step, _ in journeys.emails(ADA)] == ["thank-you", "case-study"]
    stale = svc.journeys.engine.advance(
        svc.journeys.library.version("whitepaper", read_by_both.journey_version),
        read_by_both,
        svc.journeys.facts(ADA),
    )
    with pytest.raises(Stale):
        svc.enrollments.commit(stale, journeys.clock.now())


def test_unsubscribing_leaves_the_journey_before_the_next_send(client, journeys):
    _download(client, journeys, MONDAY_10_BERLIN)
    journeys.clock.advance(days=1)
    journeys.event(ADA, "unsubscribed")
    journeys.later(days=5)

    assert [step for step, _ in journeys.emails(ADA)] == ["thank-you"]
    (exited,) = [e for e in journeys.timeline(ADA, "whitepaper") if e.type == "journey_exited"]
    assert exited.properties["reason"] == "exit goal: unsubscribed"
    assert not [e for e in _enrollments() if e.due_shard]


def test_reaching_sql_leaves_the_journey(client, journeys):
    _download(client, journeys, MONDAY_10_BERLIN)
    ContactModel(ADA).update(actions=[ContactModel.stage.set("sql")])
    journeys.event(ADA, "stage_changed", to="sql")
    journeys.later(days=4)

    assert [step for step, _ in journeys.emails(ADA)] == ["thank-you"]
    (exited,) = [e for e in journeys.timeline(ADA, "whitepaper") if e.type == "journey_exited"]
    assert exited.properties["reason"] == "exit goal: stage is sql"


def test_a_contact_already_past_an_exit_goal_gets_the_first_steps_then_leaves(
    client, journeys, svc
):
    from chalicelib import ids
    from chalicelib.events import CONTACT_IMPORTED
    from chalicelib.leads.identity import Identity
    from chalicelib.leads.intake import Intake

    journeys.clock.set(MONDAY_10_BERLIN)
    now = journeys.clock.now()
    imported = Intake(
        Identity(email="ada@example.com"), CONTACT_IMPORTED, ids.event_id(now), now, "import"
    )
    ada = svc.contacts.record(imported).contact_id
    journeys.settle()
    ContactModel(ada).update(actions=[ContactModel.stage.set("sql")])

    _download(client, journeys, MONDAY_10_BERLIN + timedelta(hours=1))
    journeys.later(days=4)

    assert [step for step, _ in journeys.emails(ada, "whitepaper")] == ["thank-you"]
    (exited,) = [e for e in journeys.timeline(ada, "whitepaper") if e.type == "journey_exited"]
    assert exited.properties["reason"] == "exit goal: stage is sql"
    assert exited.occurred_at == MONDAY_10_BERLIN + timedelta(hours=1)


DEMO = """
name: Demo request
trigger:
  event: demo_requested
entry:
  reentry: {reentry}
steps:
  - id: confirm
    send_email: {{template: demo-confirm, subject: Your demo, transactional: true}}
  - id: done
    end: {{}}
"""


@pytest.mark.parametrize(
    ("policy", "entries"),
    [("never", 1), ("always", 3), ("7d", 2)],
)
def test_each_reentry_policy_holds(client, journeys, tmp_path, policy, entries):
    journeys.publish(tmp_path, demo=DEMO.format(reentry=policy))
    for days in (0, 3, 9):  # 7d: the request on day 3 is too soon, day 9 is not
        journeys.at(MONDAY_10_BERLIN + timedelta(days=days))
        assert track(client, type="demo_requested", email="ada@example.com").status_code == 202
        journeys.settle()

    assert len(_enrollments()) == entries
    assert len(journeys.emails(ADA, "demo")) == entries


CAPPED = """
name: Capped
trigger: {{event: demo_requested}}
entry: {{max_active: {places}}}
exit_when: [{exits}]
steps:
  - id: hold
    wait: 1d
"""


def test_max_active_caps_concurrent_enrollments(client, journeys, tmp_path):
    journeys.publish(tmp_path, capped=CAPPED.format(places=2, exits=""))
    for name in ("a", "b", "c"):
        track(client, type="demo_requested", email=f"{name}@example.com")
    journeys.settle()
    assert len(list(EnrollmentModel.scan())) == 2
    assert journeys.svc.enrollments.active_count("capped") == 2

    journeys.later(days=1)  # both finish and free their slots
    track(client, type="demo_requested", email="c@example.com")
    journeys.settle()
    assert len(list(EnrollmentModel.scan())) == 3


def test_a_full_journey_refuses_even_an_entry_whose_first_run_ends_it(client, journeys, tmp_path):
    journeys.publish(tmp_path, capped=CAPPED.format(places=1, exits="{tag: vip}"))
    track(client, type="demo_requested", email="a@example.com")
    journeys.settle()
    assert journeys.svc.enrollments.active_count("capped") == 1
    track(client, type="demo_requested", email="vip@example.com")
    journeys.settle()
    vip = journeys.svc.contacts.find_by_key("email:vip@example.com")
    ContactModel(vip).update(actions=[ContactModel.tags.set({"vip"})])
    track(client, type="demo_requested", email="vip@example.com")
    journeys.settle()

    assert list(EnrollmentModel.query(vip)) == []  # no place, so no entry: not even a run
    assert journeys.svc.enrollments.active_count("capped") == 1


DRIP = """
name: Drip
trigger: {{event: demo_requested}}
steps:
  - id: first
    send_email: {{template: drip-first, subject: First, transactional: true}}
  - id: pause
    wait: {wait}
  - id: second
    send_email: {{template: {template}, subject: Second, transactional: true}}
"""


def test_republishing_mid_flight_leaves_enrollments_on_their_version(client, journeys, tmp_path):
    journeys.publish(tmp_path, drip=DRIP.format(wait="2d", template="drip-second"))
    track(client, type="demo_requested", email="ada@example.com")
    journeys.settle()

    journeys.publish(tmp_path, drip=DRIP.format(wait="5d", template="drip-second-v2"))
    track(client, type="demo_requested", email="bob@example.com")
    journeys.settle()
    journeys.later(days=2)

    ada = [e for e in journeys.timeline(ADA, "drip") if e.type == "email_queued"]
    assert [(e.properties["template"], e.properties["version"]) for e in ada] == [
        ("drip-first", 1),
        ("drip-second", 1),
    ]
    bob = ids.contact_id("email", "bob@example.com")
    assert [step for step, _ in journeys.emails(bob, "drip")] == ["first"]  # v2 waits 5 days
    journeys.later(days=3)
    bob_second = [e for e in journeys.timeline(bob, "drip") if e.type == "email_queued"][-1]
    assert bob_second.properties["template"] == "drip-second-v2"


CAPPED_PAIR = """
name: {name}
trigger: {{event: demo_requested}}
frequency_cap: {{max: 1, per: 24h}}
steps:
  - id: hello
    send_email: {{template: {name}, subject: Hello}}
"""


def test_the_frequency_cap_defers_a_send_across_journeys(client, journeys, tmp_path):
    journeys.publish(
        tmp_path,
        one=CAPPED_PAIR.format(name="one"),
        two=CAPPED_PAIR.format(name="two"),
    )
    track(client, type="demo_requested", email="ada@example.com")
    journeys.settle()

    sent = [e for e in journeys.timeline(ADA) if e.type == "email_queued"]
    deferred = [e for e in journeys.timeline(ADA) if e.type == "send_deferred"]
    assert len(sent) == 1 and len(deferred) == 1
    assert "frequency cap" in deferred[0].properties["reason"]
    assert deferred[0].properties["until"] == (MONDAY_10_BERLIN + timedelta(hours=24)).isoformat()

    journeys.later(hours=24)
    assert sorted(
        e.properties["journey"] for e in journeys.timeline(ADA) if e.type == "email_queued"
    ) == ["one", "two"]


def _birthday_subscriber(journeys, zone: str) -> str:
    now = journeys.clock.now()
    recorded = journeys.svc.contacts.record(
        Intake(
            identity=Identity(email="li@example.cn"),
            event_type="form_submitted",
            event_id=ids.event_id(now),
            occurred_at=now,
            source="test",
            event_properties={"form_id": "newsletter"},
            profile={"birthday": "03-14", "timezone": zone},
            is_submission=True,
        )
    )
    journeys.settle()
    return recorded.contact_id


def test_the_birthday_email_fires_on_the_local_day_and_again_a_year_later(journeys):
    journeys.clock.set(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    li = _birthday_subscriber(journeys, "Pacific/Auckland")  # UTC+13 in March

    journeys.at(datetime(2026, 3, 13, 19, 59, tzinfo=UTC))
    assert journeys.emails(li, "birthday") == []
    local_nine = datetime(2026, 3, 13, 20, 0, tzinfo=UTC)  # 14 March, 09:00 in Auckland
    journeys.at(local_nine)
    assert journeys.emails(li, "birthday") == [("birthday-email", local_nine)]

    journeys.at(datetime(2027, 3, 13, 20, 0, tzinfo=UTC))
    assert [at for _, at in journeys.emails(li, "birthday")] == [
        local_nine,
        datetime(2027, 3, 13, 20, 0, tzinfo=UTC),
    ]


def test_a_contact_without_a_birthday_never_enters_the_birthday_journey(client, journeys):
    body = {"email": "wang@example.cn", "consent": True}
    assert post_json(client, body, form="newsletter").status_code == 201
    journeys.settle()
    wang = ids.contact_id("email", "wang@example.cn")
    assert {e.journey_id for e in journeys.svc.enrollments.for_contact(wang)} == {
        "newsletter-welcome",
        "win-back",
    }


def test_a_goal_event_within_its_window_counts_a_conversion(client, journeys):
    _download(client, journeys, MONDAY_10_BERLIN)
    journeys.clock.advance(days=2)
    journeys.event(ADA, "demo_booked")
    converted = [e for e in journeys.timeline(ADA, "whitepaper") if e.type == "journey_converted"]
    assert len(converted) == 1
    journeys.event(ADA, "demo_booked")
    again = [e for e in journeys.timeline(ADA, "whitepaper") if e.type == "journey_converted"]
    assert len(again) == 1


def test_an_enroll_step_puts_the_contact_in_the_other_journey(client, journeys, tmp_path):
    first = """
name: First
trigger: {event: demo_requested}
steps:
  - id: pass-on
    enroll: second
"""
    second = """
name: Second
trigger: {event: never_happens}
steps:
  - id: hello
    send_email: {template: hello, subject: Hello, transactional: true}
"""
    journeys.publish(tmp_path, first=first, second=second)
    track(client, type="demo_requested", email="ada@example.com")
    journeys.settle()
    assert [step for step, _ in journeys.emails(ADA, "second")] == ["hello"]


def test_a_split_sends_everyone_down_one_path_and_keeps_the_holdout_out(journeys, tmp_path):
    split = """
name: Split
trigger: {event: demo_requested}
steps:
  - id: ab
    split:
      - {percent: 45, goto: a}
      - {percent: 45, goto: b}
      - {percent: 10, holdout: true}
  - id: a
    send_email: {template: variant-a, subject: A, transactional: true}
    next: done
  - id: b
    send_email: {template: variant-b, subject: B, transactional: true}
  - id: done
    end: {}
"""
    journeys.publish(tmp_path, split=split)
    now = journeys.clock.now()
    for n in range(40):
        event = Event(f"ct_split{n:03}", ids.event_id(now), "demo_requested", now, "test", {})
        journeys.svc.events.append(event)
    journeys.settle()
    outcomes = [e.state for e in EnrollmentModel.scan()]
    assert len(outcomes) == 40 and set(outcomes) <= {"completed", "holdout"}
    sends = [e.properties["step"] for e in _journey_events("email_queued")]
    assert sends.count("a") + sends.count("b") == outcomes.count("completed")
    assert sends.count("a") > 5 and sends.count("b") > 5


def _journey_events(type_: str) -> list[Event]:
    from chalicelib.store import event_log as event_rows
    from chalicelib.store.models import EventModel

    return [event_rows.from_model(e) for e in EventModel.scan() if e.type == type_]


def test_a_large_due_batch_fans_out_over_the_queue_and_the_workers_send_once(
    client, journeys, tmp_path
):
    from chalicelib.local import queue_driver
    from chalicelib.messaging.queues import ADVANCE
    from chalicelib.services import journey_fanout

    journeys.publish(tmp_path, drip=DRIP.format(wait="1d", template="drip-second"))
    for n in range(5):
        track(client, type="demo_requested", email=f"lead{n}@example.com")
    journeys.settle()
    svc = journeys.svc
    svc.journeys.inline_limit = 2
    journeys.clock.advance(days=1)

    report = svc.journeys.tick()
    assert (report.due, report.fanned_out, report.advanced) == (5, 5, 0)
    handle = lambda records: journey_fanout.handle_batch(records, svc.journeys)  # noqa: E731
    assert queue_driver.drain_once(svc.queues, ADVANCE, handle) == 1
    assert queue_driver.drain_once(svc.queues, ADVANCE, handle) == 0
    journeys.pipeline.drain()

    seconds = [e for e in _journey_events("email_queued") if e.properties["step"] == "second"]
    assert len(seconds) == 5
    assert svc.journeys.tick().due == 0


def test_onboarding_marks_the_customer_and_queues_its_webhook(client, journeys):
    track(client, type="signed_up", email="ada@example.com")
    journeys.settle()
    journeys.event(ADA, "deal_won", amount=12000)

    assert ContactModel.get(ADA).stage == "customer"
    kinds = [e.type for e in journeys.timeline(ADA, "onboarding")]
    assert kinds[:5] == [
        "journey_entered",
        "contact_updated",
        "stage_changed",
        "email_queued",
        "webhook_queued",
    ]
    hooks = journeys.svc.queues.receive("webhooks")
    assert [m.body["url_env"] for m in hooks] == ["LEADFLOW_CS_WEBHOOK_URL"]
    assert hooks[0].body["ledger"].endswith("#notify-cs#1")


class _RunningClock:
    """A clock that moves a millisecond every time it is read, as a real one does."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        self.at += timedelta(milliseconds=1)
        return self.at


def test_a_run_on_a_moving_clock_goes_through_every_instant_step_to_the_first_wait(
    journeys, tmp_path
):
    from chalicelib.journeys.engine import Engine

    instant = """
name: Instant
trigger: {event: demo_requested}
steps:
  - id: tag
    update: {tags: {add: [warm], remove: [cold]}}
  - id: hello
    send_email: {template: hello, subject: Hello, transactional: true}
  - id: hook
    webhook: {url: "https://hooks.example.com/x"}
  - id: pause
    wait: 1d
"""
    journeys.publish(tmp_path, instant=instant)
    now = journeys.clock.now()
    journeys.svc.contacts.record(
        Intake(Identity(email="ada@example.com"), "signed_up", ids.event_id(now), now, "test")
    )
    ContactModel(ADA).update(actions=[ContactModel.tags.set({"cold", "vip"})])
    runner = journeys.svc.journeys
    runner.engine = Engine(_RunningClock(now))
    journeys.event(ADA, "demo_requested")

    (enrollment,) = [e for e in runner.enrollments.for_contact(ADA) if e.journey_id == "instant"]
    assert enrollment.state == "pause"
    assert ContactModel.get(ADA).tags == {"warm", "vip"}


def test_a_contact_who_becomes_sql_on_a_later_post_leaves_the_journey_on_that_post(
    client, journeys
):
    """The stage change scoring derives from the second post is decided with the post itself
    (the runner looks at an enrollment once for both): the whitepaper journey's exit on
    reaching sql still happens."""
    assert post_json(client, lead()).status_code == 201
    journeys.settle()
    svc = journeys.svc
    ada = svc.contacts.find_by_key("email:ada@example.com")
    (whitepaper,) = [e for e in svc.enrollments.for_contact(ada) if e.journey_id == "whitepaper"]
    assert whitepaper.active

    hot = lead(job_title="VP Sales", company_size="1000+", country="US")
    assert post_json(client, hot).status_code in (200, 201)
    journeys.settle()

    assert svc.contacts.get(ada)["stage"] == "sql"
    (after,) = [e for e in svc.enrollments.for_contact(ada) if e.key == whitepaper.key]
    assert not after.active
