"""store/typed.py reads DynamoDB's typed values as PynamoDB's models do: each case read both
ways."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.attributes import MapAttribute

from chalicelib.store import typed
from chalicelib.store.enrollments import from_item, from_model
from chalicelib.store.models import EnrollmentModel

EVERY_KIND: dict[str, Any] = {
    "text": {"S": "王伟"},
    "empty": {"S": ""},
    "count": {"N": "42"},
    "negative": {"N": "-7"},
    "share": {"N": "0.25"},
    "exponent": {"N": "1E3"},
    "huge": {"N": "123456789012345678901234567890"},
    "yes": {"BOOL": True},
    "nothing": {"NULL": True},
    "blob": {"B": b"\x00\xff"},
    "words": {"SS": ["b", "a"]},
    "numbers": {"NS": ["1", "2.5", "-3"]},
    "blobs": {"BS": [b"x", b"y"]},
    "list": {"L": [{"S": "a"}, {"N": "1"}, {"NULL": True}, {"L": []}, {"M": {}}]},
    "nested": {"M": {"deeper": {"M": {"fields": {"M": {"name": {"S": "x"}}}}}}},
}
MINIMAL = {
    "contact_id": {"S": "ct_1"},
    "key": {"S": "whitepaper#e_1"},
    "journey_id": {"S": "whitepaper"},
    "journey_version": {"N": "3"},
    "state": {"S": "wait-a-day"},
    "phase": {"S": "parked"},
    "revision": {"N": "2"},
    "entered_at": {"S": "2026-12-01T09:30:00.000000+0000"},
    "updated_at": {"S": "2026-12-02T10:00:00.123456+0000"},
    "timezone": {"S": "Asia/Shanghai"},
}
FULL = {
    **MINIMAL,
    "due_at": {"S": "2026-12-03T01:00:00.000000+0000"},
    "due_shard": {"S": "d3"},
    "waiting": {"M": {"event": {"S": "email_clicked"}, "until": {"S": "2026-12-09"}}},
    "visits": {"M": {"wait-a-day": {"N": "2"}, "thank-you": {"N": "1"}}},
    "trigger": {"M": {"event_id": {"S": "e_1"}, "properties": EVERY_KIND["nested"]}},
    "ended_at": {"S": "2026-12-04T00:00:00.000000+0000"},
    "end_reason": {"S": "goal"},
    "converted_at": {"S": "2026-12-04T00:00:00.000000+0000"},
    "holds_slot": {"BOOL": True},
}
NULLED = {**MINIMAL, "waiting": {"NULL": True}, "visits": {"NULL": True}, "trigger": {"M": {}}}


@pytest.mark.parametrize("name", sorted(EVERY_KIND))
def test_a_value_of_each_kind_is_read_as_a_raw_map_reads_it(name):
    expected = MapAttribute().deserialize({name: EVERY_KIND[name]})[name]

    got = typed.value(EVERY_KIND[name])

    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize("item", [MINIMAL, FULL, NULLED], ids=["minimal", "full", "nulls"])
def test_an_enrollment_read_raw_is_the_one_its_model_gives(item):
    assert from_item(item) == from_model(EnrollmentModel.from_raw_data(item))


def test_an_unknown_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="XYZ"):
        typed.value({"XYZ": "?"})
