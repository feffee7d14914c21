"""Event ids: the effects of a cause sort beside it, so a timeline reads in causal order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib import ids

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@given(st.binary(min_size=10, max_size=10), st.binary(min_size=10, max_size=10), st.text())
def test_effects_of_an_earlier_cause_sort_before_a_later_cause(a: bytes, b: bytes, part: str):
    first, second = sorted((ids.event_id(AT, a), ids.event_id(AT, b)))
    assume(first[:18] != second[:18])  # on a 40-bit tie the order of the causes is undefined
    effect = ids.effect_event_id(first, AT, part)
    assert first[:18] == effect[:18] and effect < second
    assert effect == ids.effect_event_id(first, AT, part)  # deterministic: a re-run is refused


def test_an_id_that_is_not_a_ulid_falls_back_to_the_time():
    effect = ids.effect_event_id("client-42", AT, "score_changed")
    assert effect[:10] == ids.event_id(AT)[:10] and len(effect) == 26


def test_ids_made_in_one_millisecond_keep_their_order_and_their_effects_follow_them():
    made = [ids.event_id(AT) for _ in range(1000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    for cause, later in itertools.pairwise(made):
        effects = [ids.effect_event_id(cause, AT, "score_changed", str(i)) for i in range(20)]
        assert all(cause < effect < later for effect in effects)
