"""store/puts.py sends what PynamoDB would: each item the import writes, built both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pynamodb.models import Model

from chalicelib.events import CONTACT_IMPORTED, Event
from chalicelib.store import event_log, puts
from chalicelib.store.models import ContactKeyModel, ContactModel, EventModel, SegmentMemberModel

NOW = datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=UTC)
EVENT = Event(
    "c_1",
    "e_1",
    CONTACT_IMPORTED,
    NOW,
    "import",
    {"row": 7, "changed": ["company"], "file": "展会名单.csv"},
    caused_by="e_0",
)
CONTACT = {
    "id": "c_1",
    "email": "wang.wei@example.cn",
    "phone": "+8613800138000",
    "properties": {"name": "王伟", "employees": 12, "share": 0.5, "lists": ["a", 1]},
    "first_touch": {"channel": "import", "source": "import"},
    "consents": {"newsletter": {"granted": True, "at": NOW.isoformat(), "source": "import"}},
    "created_at": NOW,
    "updated_at": NOW,
    "created_by_event": "e_1",
    "tags": {"展会", "vip"},
    "segments": None,  # left out, as an unset attribute is
}
CASES: list[tuple[type[Model], dict[str, Any], Any]] = [
    (
        ContactKeyModel,
        {"key": "email:wang.wei@example.cn", "contact_id": "c_1", "created_at": NOW},
        ContactKeyModel.key.does_not_exist() | (ContactKeyModel.contact_id == "c_1"),
    ),
    (ContactModel, CONTACT, ContactModel.id.does_not_exist()),
    (ContactModel, {**CONTACT, "email": None, "properties": {}}, None),
    (EventModel, event_log.values(EVENT, 8), event_log.new_item_condition()),
    (SegmentMemberModel, {"segment": "展会", "contact_id": "c_1", "entered_at": NOW}, None),
    (
        ContactModel,
        {
            **CONTACT,
            "properties": {
                "nested": {"deeper": {"list": [1, 2.5, "三", None, True, [], {}]}, "none": None},
                "flags": [False, {"a": -0.0}],
                "sets": {"words": {"b", "a"}, "numbers": {3, 1.5}, "bytes": {b"\x00"}},
                "blob": b"\xff",
                "huge": 10**30,
                "empty": "",
            },
            "updated_at": NOW.astimezone(timezone(timedelta(hours=8))),  # written as UTC
            "score": 12.75,
            "submissions": 3,
        },
        None,
    ),
]


@pytest.mark.parametrize(("model", "values", "condition"), CASES)
def test_a_put_is_the_request_pynamodb_builds_for_the_same_item(model, values, condition):
    built = puts.put(model, values, condition)

    given = {k: v for k, v in values.items() if v is not None}
    assert built == model(**given).get_save_kwargs_from_instance(condition=condition)


def test_a_condition_with_a_value_is_never_shared_between_items():
    ids = ("c_1", "c_2")
    built = [
        puts.put(
            ContactKeyModel,
            {"key": "phone:+8613800138000", "contact_id": cid, "created_at": NOW},
            ContactKeyModel.key.does_not_exist() | (ContactKeyModel.contact_id == cid),
        )
        for cid in ids
    ]

    assert [b["ExpressionAttributeValues"][":0"]["S"] for b in built] == list(ids)


def test_a_missing_required_value_names_the_attribute():
    with pytest.raises(ValueError, match=r"ContactKeyModel\.contact_id"):
        puts.put(ContactKeyModel, {"key": "email:a@example.com", "created_at": NOW})


def test_a_value_given_as_none_takes_the_default_a_new_instance_has():
    built = puts.put(EventModel, {**event_log.values(EVENT, 8), "properties": None})

    assert built["Item"]["properties"] == {"M": {}}
    assert built["Item"]["attempts"] == {"N": "0"}


def test_a_condition_serialized_once_is_the_one_pynamodb_sends():
    claim = ContactKeyModel.key.does_not_exist() | (ContactKeyModel.contact_id == "c_2")
    values = {"key": "email:a@example.com", "contact_id": "c_2", "created_at": NOW}
    template = puts.serialized(
        ContactKeyModel.key.does_not_exist() | (ContactKeyModel.contact_id == "")
    )

    built = puts.put(ContactKeyModel, values, puts.with_value(template, "c_2"))

    assert built == ContactKeyModel(**values).get_save_kwargs_from_instance(condition=claim)
    assert template["ExpressionAttributeValues"] != built["ExpressionAttributeValues"]


def test_two_times_an_hour_apart_in_a_zone_s_fold_are_written_apart():
    zone = ZoneInfo("America/New_York")
    first = datetime(2026, 11, 1, 1, 30, tzinfo=zone)  # clocks went back at 2:00: twice 1:30
    second = first.replace(fold=1)
    values = {"segment": "s", "contact_id": "c_1"}

    built = [puts.put(SegmentMemberModel, {**values, "entered_at": t}) for t in (first, second)]

    assert first == second  # as Python compares them, which a cache keyed on them would trust
    assert [b["Item"]["entered_at"]["S"][11:16] for b in built] == ["05:30", "06:30"]
