"""Broadcasts end to end on the local engine and a fake clock: planned once, sent once per
contact however often the job runs, skips recorded with their reason, an A/B test judged by
its metric, local time, quiet hours, the frequency cap and cancelling."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.errors import Conflict
from chalicelib.events import EMAIL_SENT, EMAIL_SKIPPED
from chalicelib.store.broadcasts import Status
from chalicelib.store.models import BroadcastModel

AUDIENCE = """
name: Signed up
when: {event: signed_up}
"""
HOLD_OUTS = """
name: Hold-outs
static: true
"""
NEWS = """
name: Product news
audience: {segment: signed-up}
email:
  template: news
  subject: "News for {{ contact.email }}"
  topic: product-news
send_at: 2026-01-05T11:00
timezone: UTC
"""
SEND_AT = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)


@pytest.fixture
def world(journeys, tmp_path):
    def publish(journeys_: dict[str, str] | None = None, **broadcasts: str) -> None:
        marketing = tmp_path / "marketing"
        (marketing / "segments").mkdir(parents=True, exist_ok=True)
        (marketing / "broadcasts").mkdir(exist_ok=True)
        (marketing / "segments" / "signed-up.yaml").write_text(AUDIENCE)
        (marketing / "segments" / "hold-outs.yaml").write_text(HOLD_OUTS)
        for name, text in broadcasts.items():
            (marketing / "broadcasts" / f"{name}.yaml").write_text(text)
        journeys.publish(marketing, **(journeys_ or {}))
        journeys.svc.content._cache.clear()

    journeys.publish_broadcasts = publish
    return journeys


def _sent(world, contact_id: str) -> list:
    timeline = world.svc.events.timeline(contact_id, limit=200, newest_first=False)
    return [e for e in timeline if e.type == EMAIL_SENT and e.properties.get("broadcast")]


def _skips(world, contact_id: str) -> list[str]:
    timeline = world.svc.events.timeline(contact_id, limit=200, newest_first=False)
    return [
        e.properties["reason"]
        for e in timeline
        if e.type == EMAIL_SKIPPED and e.properties.get("broadcast")
    ]


def _people(world, n: int, prefix: str = "p") -> list[str]:
    ids = [world.sign_up(f"{prefix}{i}@example.com") for i in range(n)]
    world.settle()
    return ids


def test_a_broadcast_run_twice_sends_each_contact_once(world):
    world.publish_broadcasts(news=NEWS)
    people = _people(world, 5)
    world.svc.broadcasts.schedule("news")
    with pytest.raises(Conflict):  # moving it is fine until it starts; not after
        world.at(SEND_AT)
        world.svc.broadcasts.schedule("news")
    assert world.deliver() == 5
    world.settle()
    # Run it again from the top: the plans are on the ledger, the queue copies are refused.
    state = BroadcastModel.get("news")
    state.update(
        actions=[
            BroadcastModel.status.set(Status.PLANNING),
            BroadcastModel.cursor.remove(),
            BroadcastModel.released.set([]),
            BroadcastModel.due_shard.set("b"),
            BroadcastModel.due_at.set(SEND_AT),
        ]
    )
    again = world.svc.broadcaster.run_due()
    assert (again.planned, again.already, again.released) == (0, 5, 5)
    world.deliver()
    world.settle()
    assert [len(_sent(world, p)) for p in people] == [1] * 5
    status = world.svc.broadcasts.status("news")
    assert status["status"] == "sent"
    assert status["variants"]["main"]["sent"] == 5
    subjects = {_sent(world, p)[0].properties["subject"] for p in people}
    assert subjects == {f"News for p{i}@example.com" for i in range(5)}


def test_nothing_goes_before_send_at(world):
    world.publish_broadcasts(news=NEWS)
    _people(world, 2)
    world.svc.broadcasts.schedule("news")
    world.later(minutes=100)  # 10:40
    assert world.deliver() == 0
    world.later(minutes=20)
    assert world.deliver() == 2


def _consent(world, contact_id: str, granted: bool) -> None:
    record = {"granted": granted, "at": world.clock.now().isoformat(), "source": "test"}
    world.svc.subscriptions.change_consents(contact_id, {"marketing": record}, [])


def test_skipped_contacts_get_a_reason_event_and_a_count(world):
    # On `marketing`, which the whitepaper form asks consent for: no record means no email.
    world.publish_broadcasts(
        news=NEWS.replace("topic: product-news", "topic: marketing").replace(
            "audience: {segment: signed-up}",
            "audience: {segment: signed-up, exclude: [hold-outs]}",
        )
    )
    ok, suppressed, unsubscribed, never, held = _people(world, 5)
    for cid in (ok, suppressed, held):
        _consent(world, cid, True)
    _consent(world, unsubscribed, False)
    svc = world.svc
    svc.subscriptions.suppress("p1@example.com", "bounce", "hard bounce", suppressed, SEND_AT)
    hold_outs = svc.segments.book().segments["hold-outs"]
    svc.segmenter.change_list(hold_outs, held, True, "test", "01JG0000000000000000000000")
    world.settle()
    svc.broadcasts.schedule("news")
    world.at(SEND_AT)
    assert world.deliver() == 1
    world.settle()
    assert len(_sent(world, ok)) == 1
    assert _skips(world, suppressed) == ["suppressed"]
    assert _skips(world, unsubscribed) == ["unsubscribed"]
    assert _skips(world, never) == ["no_consent"]
    assert _skips(world, held) == ["excluded"]
    assert svc.broadcasts.status("news")["skipped"] == {
        "excluded": 1,
        "suppressed": 1,
        "unsubscribed": 1,
        "no_consent": 1,
    }


AB = (
    NEWS
    + """
ab_test:
  share: 50
  wait: 4h
  metric: unique_opens
  variants:
    - {id: plain, subject: "Plain news"}
    - {id: bold, subject: "Bold news"}
"""
)


def _open(world, contact_id: str) -> None:
    """Open the broadcast email the way a mail program does: the signed pixel."""
    sent = _sent(world, contact_id)[-1]
    world.svc.engagement.open(world.svc.engagement.signer.sign("open", contact_id, sent.event_id))


def test_the_ab_winner_is_picked_by_its_metric_and_goes_to_the_rest(world):
    world.publish_broadcasts(news=AB)
    people = _people(world, 24)
    world.svc.broadcasts.schedule("news")
    world.at(SEND_AT)
    tested = world.deliver()
    world.settle()
    arms = {p: _sent(world, p)[0].properties["variant"] for p in people if _sent(world, p)}
    assert len(arms) == tested and set(arms.values()) == {"plain", "bold"}
    assert 0 < tested < len(people)  # the rest wait for the verdict
    # Every bold reader opens twice (counted once); one plain reader opens.
    bold = [p for p, arm in arms.items() if arm == "bold"]
    plain = [p for p, arm in arms.items() if arm == "plain"]
    for p in bold:
        _open(world, p)
        _open(world, p)
    _open(world, plain[0])
    world.later(hours=3, minutes=59)
    assert world.deliver() == 0
    world.later(minutes=1)
    status = world.svc.broadcasts.status("news")
    assert status["winner"] == "bold"
    assert f"bold 100.0% of {len(bold)}" in status["winner_reason"]
    assert world.deliver() == len(people) - tested
    world.settle()
    rest = [p for p in people if p not in arms]
    assert {_sent(world, p)[0].properties["subject"] for p in rest} == {"Bold news"}
    status = world.svc.broadcasts.status("news")
    assert status["variants"]["bold"]["opened"] == len(bold)
    assert status["variants"]["plain"]["opened"] == 1
    assert status["variants"]["bold"]["sent"] == len(bold) + len(rest)


def test_with_no_opens_at_all_the_first_variant_listed_wins(world):
    world.publish_broadcasts(news=AB)
    _people(world, 6, prefix="d")  # two get plain, two bold: a tie at 0 %
    world.svc.broadcasts.schedule("news")
    world.at(SEND_AT)
    world.deliver()
    world.later(hours=4)
    status = world.svc.broadcasts.status("news")
    assert {v: n["sent"] for v, n in status["variants"].items()} == {"plain": 2, "bold": 2}
    assert status["winner"] == "plain"
    assert "first listed wins" in status["winner_reason"]


def _zone(contact_id: str, zone: str) -> None:
    from chalicelib.store.models import ContactModel

    ContactModel(contact_id).update(actions=[ContactModel.properties["timezone"].set(zone)])


def test_local_time_sends_at_nine_in_each_contacts_own_zone(world):
    local = NEWS.replace("send_at: 2026-01-05T11:00", "send_at: 2026-01-06T09:00\nlocal_time: true")
    world.publish_broadcasts(news=local)
    shanghai, new_york, unknown = _people(world, 3)
    _zone(shanghai, "Asia/Shanghai")
    _zone(new_york, "America/New_York")
    world.svc.broadcasts.schedule("news")
    # It starts when the earliest zone (UTC+14) reaches 09:00: 19:00 UTC the day before.
    assert world.svc.broadcasts.status("news")["starts_at"] == "2026-01-05T19:00:00+00:00"
    world.at(datetime(2026, 1, 5, 19, 0, tzinfo=UTC))
    assert world.svc.broadcasts.status("news")["waves"] == {
        "2026-01-06T01:00:00+00:00": 1,
        "2026-01-06T09:00:00+00:00": 1,
        "2026-01-06T14:00:00+00:00": 1,
    }
    assert world.deliver() == 0
    sent_at = {}
    for hour in (1, 9, 14):
        world.at(datetime(2026, 1, 6, hour, 0, tzinfo=UTC))
        assert world.deliver() == 1
        world.settle()
    for who in (shanghai, new_york, unknown):
        sent_at[who] = _sent(world, who)[0].occurred_at.hour
    assert sent_at == {shanghai: 1, unknown: 9, new_york: 14}
    assert world.svc.broadcasts.status("news")["status"] == "sent"


def test_quiet_hours_hold_a_contact_and_the_frequency_cap_skips_one(world):
    first = NEWS
    second = NEWS.replace("Product news", "More news").replace(
        "timezone: UTC",
        'timezone: UTC\nquiet_hours: {start: "20:00", end: "08:00"}\n'
        "frequency_cap: {max: 1, per: 7d}",
    )
    second = second.replace("send_at: 2026-01-05T11:00", "send_at: 2026-01-05T13:00")
    world.publish_broadcasts(news=first)
    capped, shanghai, free = _people(world, 3)
    world.svc.broadcasts.schedule("news")
    world.at(SEND_AT)
    world.deliver()
    world.settle()
    # A second broadcast: the three are in it, but `capped` already had one this week.
    world.publish_broadcasts(news=first, more=second)
    from chalicelib.store.models import SendHistoryModel

    for cid in (shanghai, free):  # forget their first one, as if it were weeks ago
        SendHistoryModel(cid).delete()
    _zone(shanghai, "Asia/Shanghai")  # 13:00 UTC is 21:00 there: quiet until 08:00
    world.svc.broadcasts.schedule("more")
    world.at(datetime(2026, 1, 5, 13, 0, tzinfo=UTC))
    assert _skips(world, capped) == ["frequency_cap"]
    assert world.deliver() == 1
    world.at(datetime(2026, 1, 6, 0, 0, tzinfo=UTC))  # 08:00 in Shanghai
    assert world.deliver() == 1
    world.settle()
    assert [len(_sent(world, p)) for p in (capped, shanghai, free)] == [1, 2, 2]


def test_cancelling_stops_what_was_not_sent(world):
    world.publish_broadcasts(news=NEWS)
    people = _people(world, 3)
    svc = world.svc
    svc.broadcasts.schedule("news")
    world.at(SEND_AT)  # planned and handed to the queue
    assert svc.broadcasts.cancel("news")["status"] == "cancelled"
    assert world.deliver() == 3
    world.settle()
    assert [_skips(world, p) for p in people] == [["cancelled"]] * 3
    assert svc.broadcasts.status("news")["skipped"] == {"cancelled": 3}
    with pytest.raises(Conflict):
        svc.broadcasts.cancel("news")


def test_an_interrupted_plan_resumes_from_its_cursor_and_plans_nobody_twice(world):
    world.publish_broadcasts(news=NEWS)
    people = _people(world, 5)
    svc = world.svc
    svc.broadcaster.page = 2
    svc.broadcasts.schedule("news")
    world.clock.set(SEND_AT)
    first = svc.broadcaster.run_due(max_pages=1)
    assert (first.planned, first.released) == (2, 0)
    assert svc.broadcasts.status("news")["status"] == "planning"
    # The same page again (a crash before the cursor was saved) writes nothing new.
    BroadcastModel("news").update(actions=[BroadcastModel.cursor.remove()])
    again = svc.broadcaster.run_due(max_pages=1)
    assert (again.planned, again.already) == (0, 2)
    rest = svc.broadcaster.run_due()
    assert (rest.planned, rest.released) == (3, 5)
    assert world.deliver() == 5
    world.settle()
    assert [len(_sent(world, p)) for p in people] == [1] * 5
    assert svc.broadcasts.status("news")["planned"] == 5


WELCOME = """
name: Welcome
trigger: {event: form_submitted}
steps:
  - id: hello
    send_email: {template: hello, subject: Welcome, transactional: true}
"""


def test_a_broadcast_keeps_the_sends_queue_short_so_journey_email_is_not_stuck_behind_it(
    world, client
):
    from tests.builders import lead, post_json

    world.publish_broadcasts({"welcome": WELCOME}, news=NEWS)
    people = _people(world, 5)
    svc = world.svc
    svc.broadcaster.backlog = 2
    svc.broadcasts.schedule("news")
    world.clock.set(SEND_AT)
    first = svc.broadcaster.run_due()
    assert (first.planned, first.released) == (5, 2)
    assert svc.broadcaster.run_due().released == 0  # still two waiting
    # A lead's thank-you email arrives meanwhile: it waits behind two, not five.
    assert post_json(client, lead(email="new@example.com")).status_code == 201
    world.pipeline.drain()
    assert svc.queues.depth("sends") == 3
    assert world.deliver() == 3
    assert svc.broadcaster.run_due().released == 2
    world.deliver()
    assert svc.broadcaster.run_due().released == 1
    world.deliver()
    world.settle()
    assert [len(_sent(world, p)) for p in people] == [1] * 5
    assert svc.broadcasts.status("news")["status"] == "sent"


def test_a_broadcast_that_found_nobody_can_be_scheduled_again(world):
    world.publish_broadcasts(news=NEWS)
    svc = world.svc
    svc.broadcasts.schedule("news")
    world.at(SEND_AT)
    assert svc.broadcasts.status("news")["status"] == "sent"  # to an empty segment
    people = _people(world, 2)
    assert svc.broadcasts.schedule("news", "now")["status"] == "scheduled"
    world.later(minutes=1)
    assert world.deliver() == 2
    world.settle()
    assert [len(_sent(world, p)) for p in people] == [1, 1]
    with pytest.raises(Conflict):
        svc.broadcasts.schedule("news", "now")


def test_plans_a_crashed_run_wrote_but_never_counted_are_still_sent(world):
    world.publish_broadcasts(news=NEWS)
    people = _people(world, 5)
    svc = world.svc
    svc.broadcasts.schedule("news")
    world.clock.set(SEND_AT)
    # A run wrote the first two plans, then died before it recorded them in the run's state.
    broadcast = svc.broadcasts.definition("news")[0]
    decided = svc.broadcaster.decide(broadcast, sorted(people)[:2])
    now = world.clock.now()
    plans = [svc.broadcaster._planned(broadcast, cid, d, now) for cid, d in decided.items()]
    svc.broadcaster.store.write_plan("news", plans, now)

    report = svc.broadcaster.run_due()

    assert (report.planned, report.already, report.released) == (3, 2, 5)
    assert world.deliver() == 5
    world.settle()
    assert [len(_sent(world, p)) for p in people] == [1] * 5


def test_the_verdict_waits_for_the_test_to_have_gone_however_long_that_took(world):
    world.publish_broadcasts(news=AB)
    _people(world, 6, prefix="d")  # two get plain, two bold, two the winner
    svc = world.svc
    svc.broadcaster.backlog = 1  # the test goes out one email at a time
    svc.broadcasts.schedule("news")
    world.clock.set(SEND_AT)
    svc.broadcaster.run_due()
    world.clock.advance(hours=5)  # past send_at + wait, with most of the test still to go
    while svc.broadcasts.status("news")["released"] == []:
        world.deliver()
        svc.broadcaster.run_due()
    assert svc.broadcasts.status("news")["winner"] is None
    world.deliver()
    world.clock.advance(hours=3, minutes=59)
    svc.broadcaster.run_due()
    assert svc.broadcasts.status("news")["winner"] is None
    world.clock.advance(minutes=1)
    svc.broadcaster.run_due()
    assert svc.broadcasts.status("news")["winner"] == "plain"
