"""Report counters added for many events at once: each event once (its marker), counts that
meet on one counter summed, in one transaction per shard for a batch."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from chalicelib.reports.tally import ALL, Count
from chalicelib.store.stats import StatStore, Tally
from tests.builders import DynamoCalls

NOW = datetime(2026, 11, 3, 10, tzinfo=UTC)
MONDAY, TUESDAY = date(2026, 11, 2), date(2026, 11, 3)


def _tally(n: int, day: date, shard: int, campaign: str = "launch") -> Tally:
    counts = (Count(ALL, "submissions"), Count(f"campaign:{campaign}", "submissions"))
    return Tally(f"ev{n}", counts, day, shard)


def test_a_batch_is_counted_in_a_transaction_per_shard_and_each_event_once(svc):
    stats = StatStore()
    batch = [_tally(n, MONDAY if n < 4 else TUESDAY, n % 2) for n in range(6)]

    with DynamoCalls() as calls:
        assert stats.add_all(batch, NOW) == 6
    assert calls.count("TransactWriteItems") == 2  # one per shard the events count in

    assert stats.range(ALL, MONDAY, TUESDAY)["submissions"] == Decimal(6)
    assert stats.range("campaign:launch", MONDAY, MONDAY)["submissions"] == Decimal(4)
    assert "campaign:launch" in stats.scopes(MONDAY, TUESDAY)

    again = [*batch[2:], _tally(6, TUESDAY, 0), _tally(7, TUESDAY, 1, campaign="other")]
    assert stats.add_all(again, NOW) == 2  # the four counted before add nothing
    assert stats.range(ALL, MONDAY, TUESDAY)["submissions"] == Decimal(8)
    assert stats.range("campaign:launch", TUESDAY, TUESDAY)["submissions"] == Decimal(3)
    assert stats.range("campaign:other", TUESDAY, TUESDAY)["submissions"] == Decimal(1)


def test_add_once_counts_one_event_once(svc):
    stats = StatStore()
    assert stats.add_once("ev1", [Count(ALL, "submissions")], MONDAY, 0, NOW) is True
    assert stats.add_once("ev1", [Count(ALL, "submissions")], MONDAY, 0, NOW) is False
    assert stats.range(ALL, MONDAY, MONDAY)["submissions"] == Decimal(1)


def test_more_than_a_transaction_holds_goes_in_several(svc):
    stats = StatStore()
    many = [_tally(n, MONDAY, n % 4, campaign=f"c{n}") for n in range(60)]  # 60 markers
    with DynamoCalls() as calls:
        assert stats.add_all(many, NOW) == 60
    assert calls.count("TransactWriteItems") >= 2
    assert stats.range(ALL, MONDAY, MONDAY)["submissions"] == Decimal(60)
