"""Segment members and sizes: the members table page by page, the size counter, and static
lists, whose members are added and removed by hand (never by rules)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from chalicelib.store.counters import Counters
from chalicelib.store.models import SegmentMemberModel


def size_key(segment_id: str) -> str:
    return f"segment:{segment_id}"


@dataclass(frozen=True)
class Member:
    contact_id: str
    entered_at: datetime


class SegmentMembers:
    def __init__(self, counters: Counters) -> None:
        self.counters = counters

    def size(self, segment_id: str) -> int:
        return self.counters.value(size_key(segment_id))

    def page(
        self, segment_id: str, limit: int = 100, after: str | None = None
    ) -> tuple[list[Member], str | None]:
        """Up to `limit` members in contact-id order after `after`; and the cursor for the
        next page (None at the end)."""
        condition = SegmentMemberModel.contact_id > after if after else None
        items = list(SegmentMemberModel.query(segment_id, condition, limit=limit + 1))
        members = [Member(i.contact_id, i.entered_at) for i in items[:limit]]
        more = len(items) > limit
        return members, members[-1].contact_id if more and members else None

    def add(self, segment_id: str, contact_id: str, at: datetime) -> None:
        """Put a contact on a list outside any contact change (a put: twice is once)."""
        SegmentMemberModel(segment_id, contact_id, entered_at=at).save()

    def all(self, segment_id: str) -> Iterator[Member]:
        after = None
        while True:
            members, after = self.page(segment_id, 500, after)
            yield from members
            if after is None:
                return
