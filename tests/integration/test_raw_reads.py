"""Contacts and enrollments read from the raw items are the ones their models give, across
BatchGetItem's pages of 100 and a merged-away contact left out."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib import timeline
from chalicelib.store import event_log, puts, tables, typed
from chalicelib.store.enrollments import from_model
from chalicelib.store.models import ContactModel, EnrollmentModel, EventModel
from tests.builders import DynamoCalls

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _contact(i: int, **more: object) -> dict[str, object]:
    return {
        "id": f"ct_raw{i:03d}",
        "email": f"p{i}@example.com",
        "properties": {"name": f"第{i}位", "employees": i, "share": i / 8, "tags": ["a", i]},
        "tags": {"展会"} if i % 2 else None,
        "created_at": NOW,
        "updated_at": NOW,
        "created_by_event": f"e_{i}",
        "score": i * 1.5 if i % 3 else None,
        **more,
    }


def _put_all(rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), 25):
        tables.transact([("put", puts.put(ContactModel, r), {}) for r in rows[start : start + 25]])


def test_many_contacts_read_raw_equal_their_models_in_pages_of_a_hundred(svc):
    rows = [_contact(i) for i in range(230)] + [_contact(230, merged_into="ct_raw000")]
    _put_all(rows)
    ids = [r["id"] for r in rows] + ["ct_nobody", "ct_raw001"]  # a missing id, a repeat

    with DynamoCalls() as calls:
        got = svc.contacts.get_many(ids)

    models = ContactModel.batch_get([r["id"] for r in rows])
    by_model = {m.id: typed.model_values(m) for m in models}
    assert set(got) == {r["id"] for r in rows[:230]}  # the merged-away one left out
    assert got == {k: v for k, v in by_model.items() if not v["merged_into"]}
    assert calls.count("BatchGetItem") == 3  # 231 distinct ids and one that is nobody's


def test_a_contact_and_its_enrollments_read_raw_equal_their_models(svc, ada):
    enrollments = svc.enrollments.for_contact(ada)

    assert enrollments  # the sample journeys enrolled Ada
    assert enrollments == [from_model(m) for m in EnrollmentModel.query(ada)]
    assert svc.contacts.get_own(ada) == typed.model_values(ContactModel.get(ada))


def test_a_timeline_read_raw_is_the_one_the_models_give_newest_or_oldest_and_limited(svc, ada):
    stored = len(list(EventModel.query(ada)))
    assert stored > 3  # the form, its score, stage, segment, journeys, emails
    for newest_first in (True, False):
        for limit in (1, 3, 200):
            by_model = EventModel.query(ada, scan_index_forward=not newest_first, limit=limit)
            expected = timeline.in_order((event_log.from_model(m) for m in by_model), newest_first)

            got = svc.events.timeline(ada, limit=limit, newest_first=newest_first)

            assert got == expected
            assert len(got) == min(limit, stored)
