"""The pure half of broadcasts: who gets which variant, when, and which variant won."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from chalicelib.broadcasts import plan
from chalicelib.broadcasts.language import Broadcast

BASE = {
    "id": "news",
    "name": "News",
    "audience": {"segment": "everyone"},
    "email": {"template": "news", "subject": "News"},
    "send_at": "2026-03-02T10:00",
    "timezone": "Europe/Berlin",
}


def broadcast(**changes) -> Broadcast:
    return Broadcast.model_validate({**BASE, **changes})


def contact(n: int = 1, segments: set[str] | None = None, **properties) -> dict:
    """A contact as the store reads it; `timezone` and other fields are profile properties."""
    found = {"id": f"ct_{n}", "email": f"p{n}@example.com", "properties": properties}
    return found | {"segments": segments} if segments else found


def test_send_at_is_read_in_the_broadcasts_zone_or_its_own_offset():
    assert plan.send_time(broadcast()) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    offset = broadcast(send_at="2026-03-02T10:00+08:00")
    assert plan.send_time(offset) == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_local_time_starts_when_the_earliest_zone_gets_there_and_lands_per_zone():
    b = broadcast(local_time=True, send_at="2026-03-02T09:00")
    assert plan.send_time(b) == datetime(2026, 3, 1, 19, 0, tzinfo=UTC)
    tokyo = plan.decide(b, contact(timezone="Asia/Tokyo"))
    berlin = plan.decide(b, contact(2))  # no zone of its own: the broadcast's
    assert isinstance(tokyo, plan.Send) and isinstance(berlin, plan.Send)
    assert tokyo.at == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    assert (berlin.at, berlin.zone) == (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), "Europe/Berlin")


def test_quiet_hours_are_the_contacts_own_and_say_why_it_waits():
    b = broadcast(quiet_hours={"start": "21:00", "end": "08:00"})
    decided = plan.decide(b, contact(timezone="Asia/Shanghai"))  # 10:00 Berlin = 17:00 there
    assert isinstance(decided, plan.Send) and decided.delayed == ""
    late = broadcast(send_at="2026-03-02T15:00", quiet_hours={"start": "21:00", "end": "08:00"})
    held = plan.decide(late, contact(timezone="Asia/Shanghai"))  # 22:00 there
    assert isinstance(held, plan.Send)
    assert held.at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 the next morning
    assert "Asia/Shanghai" in held.delayed


def test_the_cap_counts_sends_within_its_window_before_the_send():
    b = broadcast(frequency_cap={"max": 2, "per": "7d"})
    at = plan.send_time(b)
    recent = [at - timedelta(days=1), at - timedelta(days=6, hours=23)]
    decided = plan.decide(b, contact(), recent)
    assert isinstance(decided, plan.Skip) and decided.reason == "frequency_cap"
    older = [at - timedelta(days=1), at - timedelta(days=7)]
    assert isinstance(plan.decide(b, contact(), older), plan.Send)


def test_excluded_segments_skip_with_the_segment_named():
    b = broadcast(audience={"segment": "everyone", "exclude": ["customers"]})
    decided = plan.decide(b, contact(segments={"everyone", "customers"}))
    assert decided == plan.Skip("excluded", "in the excluded segment customers")


AB = {
    "share": 20,
    "wait": "4h",
    "variants": [{"id": "a", "subject": "A"}, {"id": "b"}, {"id": "c", "template": "news-c"}],
}


def test_variants_are_a_stable_hash_with_the_share_in_the_test():
    b = broadcast(ab_test=AB)
    arms = Counter(plan.variant(b, f"ct_{i}") for i in range(10_000))
    assert abs(arms[plan.WINNER] - 8_000) < 300
    assert all(abs(arms[v] - 667) < 120 for v in "abc")
    assert [plan.variant(b, f"ct_{i}") for i in range(50)] == [
        plan.variant(b, f"ct_{i}") for i in range(50)
    ]
    rest = next(f"ct_{i}" for i in range(100) if plan.variant(b, f"ct_{i}") == plan.WINNER)
    decided = plan.decide(b, contact() | {"id": rest})
    assert isinstance(decided, plan.Send) and decided.at == plan.winner_time(b)


def test_the_winner_has_the_best_rate_and_ties_go_to_the_first_listed():
    b = broadcast(ab_test={**AB, "metric": "unique_clicks"})
    arms = {
        "a": plan.Arm("a", 100, 60, 5),
        "b": plan.Arm("b", 50, 10, 5),  # fewer clicks, better click rate
        "c": plan.Arm("c", 100, 90, 10),
    }
    verdict = plan.judge(b, arms)
    assert verdict.winner == "b" and verdict.reason.startswith("unique click rate: a 5.0% of 100")
    tied = {"a": plan.Arm("a", 10, 1, 1), "b": plan.Arm("b", 10, 1, 1), "c": plan.Arm("c", 0, 0, 0)}
    assert plan.judge(b, tied).winner == "a"
    assert plan.judge(b, {}).winner == "a"
    unsent = {"a": plan.Arm("a", 0, 0, 0), "b": plan.Arm("b", 3, 0, 0)}
    assert plan.judge(b, unsent).winner == "b"  # a variant nobody got cannot win
    opens = broadcast(ab_test=AB)
    assert plan.judge(opens, arms).winner == "c"


def test_a_test_held_by_quiet_hours_is_judged_wait_after_it_could_go():
    b = broadcast(
        send_at="2026-03-02T22:00", quiet_hours={"start": "20:00", "end": "08:00"}, ab_test=AB
    )
    # 22:00 in Berlin is quiet: the test goes at 08:00, the verdict four hours later.
    assert plan.winner_time(b) == datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
    rest = next(f"ct_{i}" for i in range(100) if plan.variant(b, f"ct_{i}") == plan.WINNER)
    tested = next(f"ct_{i}" for i in range(100) if plan.variant(b, f"ct_{i}") != plan.WINNER)
    test_send, rest_send = plan.decide(b, {"id": tested}), plan.decide(b, {"id": rest})
    assert isinstance(test_send, plan.Send) and isinstance(rest_send, plan.Send)
    assert rest_send.at - test_send.at == timedelta(hours=4)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"local_time": True, "ab_test": AB}, "", "cannot go with local_time"),
        ({"local_time": True, "send_at": "2026-03-02T09:00+01:00"}, "", "without an offset"),
        ({"timezone": "Mars/Base"}, "timezone", "not a time zone"),
        ({"ab_test": {**AB, "variants": [{"id": "a"}, {"id": "a"}]}}, "variants", "must differ"),
        ({"ab_test": {**AB, "wait": "0m"}}, "wait", "longer than zero"),
        ({"audience": {"segment": "x", "exclude": ["x"]}}, "", "cannot exclude itself"),
    ],
)
def test_a_broadcast_that_cannot_work_is_refused_with_its_reason(changes, field, words):
    with pytest.raises(ValidationError) as caught:
        broadcast(**changes)
    assert words in str(caught.value)
    assert field in str(caught.value)
