"""A contact's events read in the order they happened, the same way for any read order, even
though effects carry ids that sort by their cause's time (the 360-degree view on the embedded
AWS: tests/integration/test_timeline.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.events import Event
from chalicelib.timeline import in_order

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@st.composite
def histories(draw) -> list[Event]:
    """Events at a handful of instants, many sharing one; each may be caused by an earlier
    one, and its id, like an effect's, may sort anywhere."""
    events: list[Event] = []
    for n in range(draw(st.integers(1, 25))):
        at = T0 + timedelta(milliseconds=draw(st.integers(0, 3)))
        cause = draw(st.sampled_from([None, *[e for e in events if e.occurred_at <= at]]))
        event_id = f"{draw(st.integers(0, 99)):02d}{n:03d}"
        kind = draw(st.sampled_from(["form_submitted", "score_changed", "email_queued"]))
        caused_by = cause.event_id if cause else None
        events.append(Event("ct_1", event_id, kind, at, "test", caused_by=caused_by))
    return events


@given(histories(), st.randoms())
def test_time_order_puts_causes_first_and_is_the_same_for_any_read_order(
    events, rnd: random.Random
):
    ordered = in_order(events)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert in_order(shuffled) == ordered
    assert in_order(shuffled, newest_first=True) == ordered[::-1]
    assert [e.occurred_at for e in ordered] == sorted(e.occurred_at for e in events)
    position = {e.event_id: i for i, e in enumerate(ordered)}
    for e in events:
        cause = next((c for c in events if c.event_id == e.caused_by), None)
        if cause is not None and cause.occurred_at == e.occurred_at:
            assert position[cause.event_id] < position[e.event_id]
