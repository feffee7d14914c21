"""Property: whatever events arrive and whenever ticks run, no step runs twice and no live
enrollment is forgotten (it has a due time or an event it waits for)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import bootstrap
from chalicelib.store.models import EnrollmentModel, EventModel
from tests.builders import Journeys
from tests.conftest import fresh_world

JOURNEY = """
name: Property
trigger: {event: signed_up}
entry: {reentry: always}
quiet_hours: {start: "22:00", end: "07:00"}
frequency_cap: {max: 1, per: 6h}
exit_when:
  - event: unsubscribed
steps:
  - id: hello
    send_email: {template: hello, subject: Hello}
  - id: pause
    wait: 1d
  - id: nudge
    send_email: {template: nudge, subject: Nudge}
  - id: click
    wait_for:
      event: email_clicked
      where: {step: nudge}
      timeout: 2d
      on_event: thanks
      on_timeout: check
  - id: check
    branch:
      cases:
        - when: {event: page_viewed, within: 3d}
          goto: thanks
      otherwise: last
  - id: last
    send_email: {template: last, subject: Last}
    next: done
  - id: thanks
    send_email: {template: thanks, subject: Thanks}
  - id: done
    end: {}
"""

OPS = st.one_of(
    st.tuples(st.just("later"), st.integers(min_value=1, max_value=3 * 24 * 60)),
    st.tuples(
        st.just("event"),
        st.sampled_from(["signed_up", "email_clicked", "page_viewed", "unsubscribed"]),
    ),
    st.tuples(st.just("tick twice"), st.just(0)),
    st.tuples(st.just("stale race"), st.just(0)),
)


def _world(folder: Path) -> tuple[Journeys, str]:
    world = fresh_world()
    world.publish(folder, prop=JOURNEY)
    return world, world.sign_up("prop@example.com")


def _apply(world: Journeys, contact_id: str, op: str, arg: object) -> None:
    svc = world.svc
    if op == "later":
        world.later(minutes=int(arg))  # type: ignore[arg-type]
    elif op == "event":
        props = {"journey": "prop", "step": "nudge"} if arg == "email_clicked" else {}
        world.clock.advance(seconds=1)
        world.event(contact_id, str(arg), **props)
    elif op == "tick twice":
        svc.journeys.tick()
        svc.journeys.tick()
        world.settle()
    else:
        stale = svc.enrollments.for_contact(contact_id)
        world.clock.advance(hours=12)
        svc.journeys.tick()
        for enrollment in stale:
            svc.journeys.advance(enrollment)
        world.settle()


def _check(contact_id: str) -> None:
    sends = Counter(
        (e.properties["enrollment"], e.properties["step"])
        for e in EventModel.query(contact_id)
        if e.type == "email_queued"
    )
    assert all(n == 1 for n in sends.values()), sends
    for item in EnrollmentModel.query(contact_id):
        if item.state not in ("completed", "exited", "holdout"):
            assert item.due_at is not None or item.waiting is not None, item.key
            assert (item.due_shard is not None) == (item.due_at is not None)


@pytest.mark.usefixtures("aws")
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, min_size=1, max_size=8))
def test_no_step_runs_twice_and_no_live_enrollment_is_forgotten(tmp_path_factory, ops):
    world, contact_id = _world(tmp_path_factory.mktemp("marketing"))
    try:
        for op, arg in ops:
            _apply(world, contact_id, op, arg)
            _check(contact_id)
        world.later(days=10)
        _check(contact_id)
        overdue = [
            e.key
            for e in EnrollmentModel.query(contact_id)
            if e.due_at is not None and e.due_at <= world.clock.now()
        ]
        assert overdue == []
    finally:
        bootstrap.reset(None)
