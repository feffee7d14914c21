"""Which segments an event can change: those that read it, and the segments that read those,
in evaluation order."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.events import PAGE_VIEWED, PURCHASE, SCORE_CHANGED, Event
from chalicelib.segments.book import SegmentBook
from chalicelib.segments.language import Segment


def _segment(sid: str, when: dict | None = None) -> Segment:
    body = {"id": sid, "name": sid, **({"when": when} if when else {"static": True})}
    return Segment.model_validate(body)


BOOK = SegmentBook(
    [
        _segment("not-vip", {"not": {"segment": "vips"}}),
        _segment("vips", {"field": "email_domain", "equals": "acme.com"}),
        _segment("clickers", {"event": "email_clicked", "within": "30d"}),
        _segment("quiet", {"inactive_for": "90d"}),
        _segment("list"),
    ]
)


def _affected(event_type: str) -> list[str]:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    return [s.id for s in BOOK.affected_by(Event("ct_x", "01", event_type, now, "api"))]


def test_an_event_a_person_sends_may_change_their_fields_and_ends_inactivity():
    assert set(_affected(PURCHASE)) == {"vips", "quiet", "not-vip"}
    assert "clickers" not in _affected(PAGE_VIEWED)


def test_readers_come_after_what_they_read():
    order = _affected(SCORE_CHANGED)

    assert order.index("vips") < order.index("not-vip")
    assert "clickers" not in order and "list" not in order


def test_an_event_derived_before_its_causes_segments_leaves_out_what_the_cause_reached():
    book = SegmentBook(
        [
            _segment("scored-twice", {"event": "score_changed", "min_count": 2}),
            _segment("warm", {"field": "score", "gte": 10}),
            _segment(
                "warm-and-scored", {"all": [{"segment": "warm"}, {"segment": "scored-twice"}]}
            ),
            _segment("vips", {"field": "email_domain", "equals": "acme.com"}),
        ]
    )
    now = datetime(2026, 1, 5, tzinfo=UTC)
    derived = Event("ct_x", "02", SCORE_CHANGED, now, "scoring", {"cause": PURCHASE})

    alone = [s.id for s in book.affected_by(derived)]
    after_cause = [s.id for s in book.affected_by(derived, settled=PURCHASE)]

    assert {"warm", "vips"} <= set(alone)
    # warm and vips were evaluated with the purchase, the score already on the contact; the
    # segment that reads a score_changed count was not, nor what reads it, warm or not.
    assert after_cause == ["scored-twice", "warm-and-scored"]
    # a cause that names its segment settles nothing by its type
    assert book.affected_by(derived, settled="segment_entered") == book.affected_by(derived)
