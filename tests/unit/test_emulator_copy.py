"""The embedded AWS copies items with marshal: equal, independent, and deepcopy's fallback."""

from __future__ import annotations

import copy
from decimal import Decimal

from chalicelib.local.emulator_main import deep_copy

ITEM = {
    "id": {"S": "ct_1"},
    "properties": {"M": {"company": {"S": "公司"}, "score": {"N": "12"}}},
    "tags": {"SS": ["展会", "VIP"]},
    "history": {"L": [{"M": {"at": {"S": "2026-12-01"}}}, {"NULL": True}]},
    "active": {"BOOL": False},
}


def test_a_copy_is_equal_and_shares_nothing_with_the_item() -> None:
    copied = deep_copy(ITEM)
    assert copied == ITEM == copy.deepcopy(ITEM)
    copied["properties"]["M"]["company"]["S"] = "changed"
    copied["tags"]["SS"].append("new")
    copied["history"]["L"][0]["M"]["at"]["S"] = "later"
    assert ITEM["properties"]["M"]["company"]["S"] == "公司"
    assert ITEM["tags"]["SS"] == ["展会", "VIP"]
    assert ITEM["history"]["L"][0]["M"]["at"]["S"] == "2026-12-01"


def test_types_are_kept() -> None:
    copied = deep_copy({"n": 1, "f": 1.5, "b": True, "none": None, "t": (1, 2), "s": {1}})
    assert [type(v) for v in copied.values()] == [int, float, bool, type(None), tuple, set]


def test_what_marshal_cannot_copy_is_deep_copied() -> None:
    class Partition(dict):  # type: ignore[type-arg]
        pass

    original = Partition(a=[Decimal("1.5")])
    copied = deep_copy(original)
    assert type(copied) is Partition and copied == original
    copied["a"].append(Decimal(2))
    assert original["a"] == [Decimal("1.5")]
