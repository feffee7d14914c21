"""Segments kept current one event at a time: entering and leaving with their events, time
windows that close on the right day with no scan, lists by hand, backfills that count once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.events import SEGMENT_ENTERED, SEGMENT_LEFT
from chalicelib.store.facts import ReadFacts
from chalicelib.store.models import ContactModel, SegmentMemberModel, TimerModel
from tests.builders import ROOT, DynamoCalls, lead, post_json

SEGMENTS = {
    "clickers": """
name: Clicked in the last 30 days
when: {event: email_clicked, within: 30d}
""",
    "playbook-twice": """
name: Downloaded the playbook twice in 30 days
when:
  event: form_submitted
  where: {form_id: whitepaper}
  min_count: 2
  within: 30d
""",
    "quiet": """
name: Nothing in 90 days
when: {inactive_for: 90d}
""",
    "engaged-clickers": """
name: Clickers who consented
when:
  all:
    - segment: clickers
    - consent: marketing
""",
    "vip": """
name: VIP
static: true
""",
    "vip-clickers": """
name: VIPs who click
when:
  all: [{segment: vip}, {segment: clickers}]
""",
}

WELCOME = """
name: Welcome clickers
trigger: {segment: clickers}
steps:
  - id: tag
    update: {tags: {add: [clicker]}}
"""


@pytest.fixture
def world(journeys, tmp_path):
    marketing = tmp_path / "marketing"
    (marketing / "segments").mkdir(parents=True)
    for name, text in SEGMENTS.items():
        (marketing / "segments" / f"{name}.yaml").write_text(text)
    journeys.publish(marketing, welcome=WELCOME)
    return journeys


def _segments(world, contact_id: str) -> set[str]:
    return set(world.svc.contacts.get(contact_id).get("segments") or ())


def _moves(world, contact_id: str) -> list[tuple[str, str]]:
    timeline = world.svc.events.timeline(contact_id, limit=500, newest_first=False)
    return [
        (e.type, e.properties["segment"])
        for e in timeline
        if e.type in (SEGMENT_ENTERED, SEGMENT_LEFT)
    ]


def _ada(client, world) -> str:
    assert post_json(client, lead()).status_code == 201
    world.settle()
    return world.svc.contacts.find_by_key("email:ada@example.com")


def test_a_click_enters_clickers_and_the_segments_that_read_it_in_one_pass(client, world):
    ada = _ada(client, world)
    world.event(ada, "email_clicked", url="https://example.com")

    assert {"clickers", "engaged-clickers"} <= _segments(world, ada)
    assert ("segment_entered", "clickers") in _moves(world, ada)
    assert _moves(world, ada).index(("segment_entered", "clickers")) < _moves(world, ada).index(
        ("segment_entered", "engaged-clickers")
    )
    assert world.svc.members.size("clickers") == 1
    assert [m.contact_id for m in world.svc.members.all("clickers")] == [ada]


def test_a_journey_triggered_by_entering_a_segment_runs(client, world):
    ada = _ada(client, world)
    world.event(ada, "email_clicked", url="https://example.com")

    assert "clicker" in (world.svc.contacts.get(ada).get("tags") or ())
    entered = [e for e in world.timeline(ada, "welcome") if e.type == "journey_entered"]
    assert len(entered) == 1


def test_leaving_clickers_happens_when_the_30_days_pass_with_no_new_event_and_no_scan(
    client, world
):
    ada = _ada(client, world)
    world.event(ada, "email_clicked", url="https://example.com")
    clicked_at = world.clock.now()

    world.later(days=29, hours=23)
    assert "clickers" in _segments(world, ada)
    with DynamoCalls() as seen:
        world.later(hours=2)

    assert "clickers" not in _segments(world, ada)
    assert "engaged-clickers" not in _segments(world, ada)
    (left,) = [
        e
        for e in world.svc.events.timeline(ada, limit=500)
        if e.type == SEGMENT_LEFT and e.properties["segment"] == "clickers"
    ]
    assert (
        clicked_at + timedelta(days=30)
        < left.occurred_at
        <= clicked_at + timedelta(days=30, seconds=5)
    )
    assert "Scan" not in seen
    assert world.svc.members.size("clickers") == 0
    assert list(SegmentMemberModel.query("clickers")) == []


def test_at_least_twice_within_the_window_counts_only_events_inside_it(client, world):
    ada = _ada(client, world)
    assert "playbook-twice" not in _segments(world, ada)
    world.later(days=31)
    assert post_json(client, lead()).status_code == 201
    world.settle()
    assert "playbook-twice" not in _segments(world, ada)  # the first is 31 days old

    world.later(days=3)
    assert post_json(client, lead()).status_code == 201
    world.settle()
    assert "playbook-twice" in _segments(world, ada)


def test_a_contact_never_active_is_quiet_and_one_active_becomes_quiet_after_90_days(client, world):
    never = world.svc.contacts.record(_imported("grace@example.com", world.clock.now()))
    world.settle()
    ada = _ada(client, world)

    assert "quiet" in _segments(world, never.contact_id)
    assert "quiet" not in _segments(world, ada)
    world.later(days=90, hours=1)
    assert "quiet" in _segments(world, ada)
    world.event(ada, "page_viewed", url="https://example.com/pricing")
    assert "quiet" not in _segments(world, ada)


def test_an_evaluation_that_moves_no_window_writes_nothing_and_the_window_still_closes(
    client, world
):
    ada = _ada(client, world)
    armed = TimerModel.get(ada, "segment:quiet").due_at
    version = world.svc.contacts.get(ada)["version"]

    world.event(ada, "contact_updated")  # `quiet` is evaluated again; its 90 days do not move

    assert world.svc.contacts.get(ada)["version"] == version
    assert TimerModel.get(ada, "segment:quiet").due_at == armed
    world.later(days=90, hours=1)
    assert "quiet" in _segments(world, ada)


def test_activity_that_moves_a_window_later_leaves_the_timer_which_then_sets_itself_again(
    client, world
):
    ada = _ada(client, world)
    armed = TimerModel.get(ada, "segment:quiet").due_at
    world.later(days=10)
    world.event(ada, "page_viewed", url="https://example.com/pricing")
    assert TimerModel.get(ada, "segment:quiet").due_at == armed  # not moved 10 days on

    world.later(days=80, hours=1)  # the first timer fires: 80 days since the view, not quiet
    assert "quiet" not in _segments(world, ada)
    assert TimerModel.get(ada, "segment:quiet").due_at == armed + timedelta(days=10)
    world.later(days=10)
    assert "quiet" in _segments(world, ada)


def test_a_re_check_time_already_past_is_set_again_whatever_became_of_its_timer(client, world):
    ada = _ada(client, world)
    past = world.clock.now() - timedelta(hours=1)  # its event parked, say: the timer is gone
    TimerModel(ada, "segment:quiet").delete()
    ContactModel(ada).update(
        actions=[ContactModel.segment_rechecks.set({"quiet": past.isoformat()})]
    )
    world.later(days=1)
    world.event(ada, "page_viewed", url="https://example.com/pricing")

    armed = TimerModel.get(ada, "segment:quiet").due_at  # back, for the view's 90 days
    assert timedelta(days=90) <= armed - world.clock.now() < timedelta(days=90, minutes=1)


def test_windows_of_30_and_90_days_are_read_in_one_query_with_the_same_events(client, world):
    ada = _ada(client, world)
    for days in (50, 20, 1):
        world.later(days=days)
        world.event(ada, "page_viewed", url="https://example.com/pricing")
    now = world.clock.now()
    contact = world.svc.contacts.get(ada)
    month, quarter = now - timedelta(days=30), now - timedelta(days=90)

    with DynamoCalls() as calls:
        facts = ReadFacts(contact, widest=quarter)
        shared = [facts.events(month), facts.events(quarter)]
    assert calls.count("Query") == 1
    assert shared == [ReadFacts(contact).events(month), ReadFacts(contact).events(quarter)]
    assert 0 < len(shared[0]) < len(shared[1])


def test_a_static_list_changes_only_by_hand_and_segments_reading_it_follow(client, world):
    ada = _ada(client, world)
    world.event(ada, "email_clicked", url="https://example.com")
    vip = world.svc.segments.book().segments["vip"]

    assert world.svc.segmenter.change_list(vip, ada, True, "test", "01KE00000000000000000000AA")
    world.settle()
    assert {"vip", "vip-clickers"} <= _segments(world, ada)
    assert not world.svc.segmenter.change_list(vip, ada, True, "test", "01KE00000000000000000000AB")
    with pytest.raises(ValueError, match="dynamic"):
        world.svc.segmenter.change_list(
            world.svc.segments.book().segments["clickers"], ada, True, "test", "x"
        )

    assert world.svc.segmenter.change_list(vip, ada, False, "test", "01KE00000000000000000000AC")
    world.settle()
    assert not {"vip", "vip-clickers"} & _segments(world, ada)
    assert world.svc.members.size("vip") == 0


def test_editing_a_segment_backfills_it_once(client, world, tmp_path):
    from chalicelib.content import catalog
    from chalicelib.services import publisher

    ada = _ada(client, world)
    marketing = tmp_path / "marketing"
    (marketing / "segments" / "quiet.yaml").write_text(
        "name: Nothing in 1 day\nwhen: {inactive_for: 1d}\n"
    )
    world.clock.advance(days=2)
    report = publisher.publish(catalog.load(marketing), world.svc.content)
    world.svc.content._cache.clear()
    assert report.segments == {"quiet": 2}

    moved = world.svc.segmenter.backfill(report.segments, world.svc.contacts.all_ids).moved
    again = world.svc.segmenter.backfill(report.segments, world.svc.contacts.all_ids).moved
    world.settle()

    assert (moved, again) == (1, 0)
    assert "quiet" in _segments(world, ada)
    assert _moves(world, ada).count(("segment_entered", "quiet")) == 1


def test_an_interrupted_backfill_resumes_where_it_stopped(client, world, monkeypatch):
    from chalicelib.services import segmenter

    monkeypatch.setattr(segmenter, "CHECKPOINT_EVERY", 2)
    people = [world.sign_up(f"q{i}@example.com") for i in range(5)]
    world.settle()
    world.clock.advance(days=91)
    visited: list[str] = []

    def crashing(after):
        for contact_id in world.svc.contacts.all_ids(after):
            if len(visited) == 3:
                raise ConnectionError("the job was stopped")
            visited.append(contact_id)
            yield contact_id

    with pytest.raises(ConnectionError):
        world.svc.segmenter.backfill({"quiet": 1}, crashing)
    resumed = world.svc.segmenter.backfill({"quiet": 1}, world.svc.contacts.all_ids)
    world.settle()

    assert resumed.resumed == 2  # the checkpoint after the second contact
    assert all("quiet" in _segments(world, p) for p in people)
    assert world.svc.members.size("quiet") == len(people)
    computed = world.svc.segmenter.backfills.computed_at(["quiet"])
    assert computed == {"quiet": world.clock.now()}


def test_explain_says_why_a_contact_is_in_or_out(client, world):
    ada = _ada(client, world)
    book = world.svc.segments.book()
    contact = world.svc.contacts.get(ada)

    why = world.svc.segmenter.explain(book.segments["playbook-twice"], contact, world.clock.now())

    assert (why.inside, why.holds) == (False, False)
    assert why.reason == "only 1 form_submitted form_id=whitepaper within 30d"


def _imported(email: str, now):
    from chalicelib import ids
    from chalicelib.events import CONTACT_IMPORTED
    from chalicelib.leads.identity import Identity
    from chalicelib.leads.intake import Intake

    return Intake(Identity(email=email), CONTACT_IMPORTED, ids.event_id(now), now, "import")


def test_segments_reached_only_through_a_score_change_follow_it_and_those_reading_them_too(
    client, journeys, tmp_path
):
    """The segments a form post reaches are evaluated with its score change already on the
    contact, and not again for that change; a segment that reads the score change itself,
    and one that reads that segment, are evaluated for it."""
    marketing = tmp_path / "marketing"
    (marketing / "segments").mkdir(parents=True)
    (marketing / "scoring.yaml").write_text((ROOT / "marketing" / "scoring.yaml").read_text())
    (marketing / "segments" / "scored.yaml").write_text(
        "name: Scored\nwhen: {event: score_changed}\n"
    )
    (marketing / "segments" / "warm.yaml").write_text("name: Warm\nwhen: {field: score, gte: 1}\n")
    (marketing / "segments" / "warm-scored.yaml").write_text(
        "name: Warm and scored\nwhen:\n  all: [{segment: warm}, {segment: scored}]\n"
    )
    journeys.publish(marketing)
    ada = _ada(client, journeys)

    contact = journeys.svc.contacts.get(ada)
    assert int(contact["score"]) >= 1
    assert {"scored", "warm", "warm-scored"} <= set(contact.get("segments") or ())
    entered = [m for t, m in _moves(journeys, ada) if t == SEGMENT_ENTERED]
    assert entered.count("warm") == 1 and entered.index("scored") < entered.index("warm-scored")
