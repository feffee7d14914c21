"""Which events a journey's enrollments react to: the runner skips the rest without reading
the contact, so an event left out here would be an exit or a wait missed."""

from __future__ import annotations

import pytest
import yaml

from chalicelib.content import catalog
from chalicelib.events import CATALOGUE
from chalicelib.journeys.interest import interest_of
from chalicelib.journeys.language import Journey
from tests.builders import ROOT

RECORDS = ("email_queued", "email_sent", "journey_entered", "segment_entered", "webhook_queued")


@pytest.fixture(scope="module")
def sample() -> dict[str, Journey]:
    return catalog.load(ROOT / "marketing").journeys


def _journey(exit_when: str) -> Journey:
    body = yaml.safe_load(
        f"""
name: Probe
trigger: {{event: demo_requested}}
exit_when: {exit_when}
steps:
  - id: pause
    wait: 3d
"""
    )
    return Journey.model_validate({"id": "probe", **body})


def test_the_whitepaper_wants_its_exits_and_what_can_move_the_stage_not_records(sample):
    interest = interest_of(sample["whitepaper"])
    for wanted in ("unsubscribed", "deal_won", "stage_changed", "score_changed", "form_submitted"):
        assert interest.wants(wanted), wanted
    for record in RECORDS:
        assert not interest.wants(record), record


def test_goals_and_waits_are_wanted(sample):
    welcome = interest_of(sample["newsletter-welcome"])
    assert welcome.wants("email_clicked")  # the goal
    assert welcome.wants("topic_unsubscribed")  # an exit event
    assert not welcome.wants("email_sent")
    onboarding = interest_of(sample["onboarding"])
    assert onboarding.wants("product_login")  # a wait_for and the goal
    assert onboarding.wants("deal_lost")


def test_every_journey_hears_an_unsubscribe_from_everything():
    assert interest_of(_journey("[]")).wants("unsubscribed")


def test_a_windowed_exit_looks_at_every_event():
    interest = interest_of(_journey("[{inactive_for: 30d}]"))
    assert all(interest.wants(kind) for kind in CATALOGUE)


def test_a_segment_exit_hears_entries_and_exits():
    interest = interest_of(_journey("[{segment: vip-list}]"))
    assert interest.wants("segment_entered") and interest.wants("segment_left")
    assert not interest.wants("email_sent")


def test_a_custom_tracked_event_is_activity_for_a_field_exit():
    interest = interest_of(_journey("[{stage_reached: sql}]"))
    assert interest.wants("webinar_attended")  # not in the catalogue: the person did it
    assert not interest.wants("email_sent")


def test_an_exit_on_the_segments_field_hears_entries_and_exits():
    interest = interest_of(_journey("[{field: segments, contains: vip-list}]"))
    assert interest.wants("segment_entered") and interest.wants("segment_left")


def test_a_derived_change_needs_no_look_when_its_cause_reached_the_same_contact_exits():
    on_stage = interest_of(_journey("[{field: stage, equals: sql}]"))
    # A form post reaches an exit on the stage, and its score change was written first.
    assert on_stage.settled("score_changed", "form_submitted")
    assert on_stage.settled("stage_changed", "page_viewed")

    named = interest_of(_journey("[{event: score_changed}]"))
    assert named.wants("score_changed") and not named.settled("score_changed", "form_submitted")

    windowed = interest_of(
        _journey("[{any: [{field: stage, equals: sql}, {event: demo_booked, within: 7d}]}]")
    )
    assert not windowed.settled("stage_changed", "form_submitted")

    # a cause that changes nothing the exit reads settles nothing
    assert not on_stage.settled("stage_changed", "segment_recheck_due")
