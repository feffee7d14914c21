"""RFM scores and tiers on a data set worked out by hand (see the comments)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.segments.rfm import Buyer, RfmSettings, quintiles, score

NOW = datetime(2026, 6, 1, tzinfo=UTC)
BUYERS = [
    Buyer("a", datetime(2026, 5, 30, tzinfo=UTC), 5, 5000),
    Buyer("b", datetime(2026, 5, 20, tzinfo=UTC), 3, 800),
    Buyer("c", datetime(2026, 3, 1, tzinfo=UTC), 8, 12000),
    Buyer("d", datetime(2026, 1, 10, tzinfo=UTC), 1, 100),
    Buyer("e", datetime(2025, 10, 1, tzinfo=UTC), 2, 3000),  # 243 days ago
]


def _tiers(settings: RfmSettings) -> dict[str, tuple[int, int, int, str]]:
    return {k: (v.r, v.f, v.m, v.tier) for k, v in score(BUYERS, settings, NOW).items()}


def test_five_buyers_score_by_fifths_and_tier_against_the_mean():
    # Recency, oldest first: e d c b a -> 1..5; frequency: d e b a c; sum: d b e a c.
    # The mean of each score is 3: a (5,4,4) and c (3,5,5) are high on all three; b (4,3,2)
    # is low on money; d (2,1,1) on everything; e bought 243 days ago: sleeping.
    assert _tiers(RfmSettings()) == {
        "a": (5, 4, 4, "important-value"),
        "b": (4, 3, 2, "general-value"),
        "c": (3, 5, 5, "important-value"),
        "d": (2, 1, 1, "general-retain"),
        "e": (1, 2, 3, "sleeping"),
    }


def test_a_fixed_threshold_of_4_and_the_average_order_value():
    tiers = _tiers(RfmSettings(threshold="fixed", fixed=4, monetary="average"))

    # Average order: d 100, b 266.7, a 1000, c 1500 and e 1500 (a tie: both score 4).
    assert tiers["a"] == (5, 4, 3, "general-value")
    assert tiers["b"] == (4, 3, 2, "general-develop")
    assert tiers["c"] == (3, 5, 4, "important-keep")
    assert tiers["e"][2] == tiers["c"][2] == 4


def test_equal_values_share_a_score_whatever_order_they_come_in():
    forwards = quintiles({"x": 1.0, "y": 1.0, "z": 2.0, "w": 3.0})
    backwards = quintiles(dict(reversed(list({"x": 1.0, "y": 1.0, "z": 2.0, "w": 3.0}.items()))))

    assert forwards == backwards
    assert forwards["x"] == forwards["y"] == 1
    assert forwards["w"] > forwards["z"] > forwards["x"]


def test_labels_are_the_eight_tiers_chinese_crms_use():
    labels = {v.tier: v.label for v in score(BUYERS, RfmSettings(), NOW).values()}

    assert labels["important-value"] == "重要价值客户"
    assert labels["sleeping"] == "沉睡客户"
