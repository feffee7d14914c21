"""The contact list: a page of contacts matching a filter, and where the next page starts.

With a segment or list it reads that segment's members (its own table, in contact-id order);
otherwise it reads the contacts table page by page. Either way a request reads a bounded
number of contacts (`READ_BUDGET` pages' worth) and hands back a cursor, so a rare filter
over a large table answers in a few pages instead of timing out; the client follows `next`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.contacts.listing import ContactFilter, row
from chalicelib.leads.ownership import lead_of
from chalicelib.roles import Caller
from chalicelib.store.contacts import ContactStore
from chalicelib.store.segments import SegmentMembers

PAGE = 100
READ_BUDGET = 10
"""Pages read at most for one request; a filter that matches few stops early with a cursor."""


@dataclass(frozen=True)
class Page:
    contacts: list[dict[str, Any]]
    next: str | None


class Directory:
    def __init__(self, contacts: ContactStore, members: SegmentMembers) -> None:
        self.contacts = contacts
        self.members = members

    def page(self, wanted: ContactFilter, caller: Caller, limit: int, after: str | None) -> Page:
        """Up to `limit` matching contacts the caller may see (a sales key: its own leads; a
        sales manager: its team's)."""
        rows: list[dict[str, Any]] = []
        cursor = after
        for _ in range(READ_BUDGET):
            contacts, cursor = self._read(wanted.segment, cursor, limit)
            for contact in contacts:
                if wanted.matches(contact) and caller.sees(lead_of(contact)):
                    rows.append(row(contact))
            if cursor is None or len(rows) >= limit:
                break
        return Page(rows[:limit], cursor if len(rows) <= limit else rows[limit - 1]["id"])

    def _read(
        self, segment: str | None, after: str | None, size: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        if segment is None:
            return self.contacts.scan_page(after, size)
        members, cursor = self.members.page(segment, size, after)
        found = self.contacts.get_many([m.contact_id for m in members])
        return [found[m.contact_id] for m in members if m.contact_id in found], cursor
