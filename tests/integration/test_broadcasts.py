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
    def publish(**broadcasts: str) -> None:
        marketing = tmp_path / "marketing"
        (marketing / "segments").mkdir(parents=True, exist_ok=True)
        (marketing / "broadcasts").mkdir(exist_ok=True)
        (marketing / "segments" / "signed-up.yaml").write_text(AUDIENCE)
        (marketing / "segments" / "hold-outs.yaml").write_text(HOLD_OUTS)
        for name, text in broadcasts.items():
            (marketing / "broadcasts" / f"{name}.yaml").write_text(text)
        journeys.publish(marketing)
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
    again = world.svc.broadcasts.run_due()
    assert (again.planned, again.already, again.released) == (0, 5, 5)
    world.deliver()
    world.settle()
    assert [len(_sent(world, p)) for p in people] == [1] * 5
    status = world.svc.broadcasts.status("news")
    assert status["status"] == "done"
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
