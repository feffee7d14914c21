"""store/typed.py reads DynamoDB's typed values as PynamoDB's models do: each case read both
ways."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.attributes import MapAttribute

from chalicelib.store import typed
from chalicelib.store.enrollments import from_item, from_model
from chalicelib.store.models import ContactModel, EnrollmentModel, LedgerModel

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


CONTACT_MINIMAL = {
    "id": {"S": "ct_1"},
    "created_at": {"S": "2026-12-01T09:30:00.000000+0000"},
    "updated_at": {"S": "2026-12-01T09:30:00.000000+0000"},
    "created_by_event": {"S": "e_1"},
}
CONTACT_FULL = {
    **CONTACT_MINIMAL,
    "email": {"S": "wang.wei@example.cn"},
    "phone": {"S": "+8613800138000"},
    "properties": {"M": {name: v for name, v in EVERY_KIND.items() if name != "blob"}},
    "first_touch": {"M": {"channel": {"S": "import"}}},
    "consents": {"M": {"marketing": {"M": {"granted": {"BOOL": True}}}}},
    "visitor_ids": {"SS": ["v_1", "v_2"]},
    "submissions": {"N": "3"},
    "tags": {"SS": ["展会"]},
    "stage": {"S": "lead"},
    "score": {"N": "12.5"},
    "version": {"N": "7"},
    "score_reasons": {"M": {"whitepaper": {"N": "30"}}},
    "lead": {"NULL": True},
    "merged_into": {"S": "ct_2"},
}


@pytest.mark.parametrize("item", [CONTACT_MINIMAL, CONTACT_FULL], ids=["minimal", "full"])
def test_a_contact_read_raw_is_the_one_its_model_gives(item):
    got = typed.values(ContactModel, item)

    by_model = typed.model_values(ContactModel.from_raw_data(item))
    assert got == by_model
    assert type(got["version"]) is type(by_model["version"])


def test_other_attribute_types_are_read_by_the_attribute_itself():
    item = {
        "key": {"S": "ct_1#whitepaper#e_1#thank-you#1"},
        "kind": {"S": "email"},
        "contact_id": {"S": "ct_1"},
        "journey_id": {"S": "whitepaper"},
        "step": {"S": "thank-you"},
        "created_at": {"S": "2026-12-01T09:30:00.000000+0000"},
        "expires_at": {"N": "1830870028"},  # a TTL: read as a time
        "attempt_log": {"L": [{"S": "throttled"}, {"M": {"at": {"N": "1"}}}]},
    }
    model = LedgerModel.from_raw_data(item)

    got = typed.values(LedgerModel, item)

    as_read = {name: getattr(model, name) for name in LedgerModel.get_attributes()}
    assert got == {k: v.as_dict() if hasattr(v, "as_dict") else v for k, v in as_read.items()}
    assert got["status"] == "recorded"  # a default, as the model's


def test_an_unknown_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="XYZ"):
        typed.value({"XYZ": "?"})


def test_a_number_is_read_as_json_reads_it_leading_zeros_and_all():
    assert [typed.value({"N": n}) for n in ("0", "10", "2.50", "-0")] == [0, 10, 2.5, 0]
    with pytest.raises(ValueError):
        typed.value({"N": "007"})  # never written by DynamoDB; refused as PynamoDB refuses it


def test_a_map_stored_as_another_type_is_refused():
    item = {**MINIMAL, "trigger": {"L": []}}

    with pytest.raises(KeyError):
        typed.values(EnrollmentModel, item)
