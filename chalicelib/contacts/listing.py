"""Which contacts a contact list shows (pure): filters a marketer or a salesperson types, and
the row each contact becomes.

Text search is case-insensitive and full-width-insensitive (NFKC), on the name, email and
company, so `ＬＩ` finds Li and `星辰` finds 北京星辰科技.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.leads.ownership import lead_of

SHOWN = ("name", "first_name", "last_name", "company", "job_title", "city")


def aware(moment: datetime) -> datetime:
    """A filter's date or time: UTC unless it says otherwise."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class ContactFilter:
    stage: str | None = None
    lead: str | None = None
    """The lead's status: `pool` lists the shared pool."""
    owner: str | None = None
    tag: str | None = None
    segment: str | None = None
    created_since: datetime | None = None
    updated_since: datetime | None = None
    search: str | None = None

    def matches(self, contact: Mapping[str, Any]) -> bool:
        if self.stage and contact.get("stage") != self.stage:
            return False
        if self.lead and lead_of(contact).get("status") != self.lead:
            return False
        if self.owner and lead_of(contact).get("owner") != self.owner:
            return False
        if self.tag and self.tag not in (contact.get("tags") or ()):
            return False
        if self.segment and self.segment not in (contact.get("segments") or ()):
            return False
        if self.created_since and _before(contact.get("created_at"), self.created_since):
            return False
        if self.updated_since and _before(contact.get("updated_at"), self.updated_since):
            return False
        return not self.search or folded(self.search) in _haystack(contact)


def _before(value: Any, bound: datetime) -> bool:
    return not isinstance(value, datetime) or value < bound


def _haystack(contact: Mapping[str, Any]) -> str:
    props = contact.get("properties") or {}
    parts = [contact.get("email") or "", contact.get("phone") or ""]
    parts += [str(props.get(name) or "") for name in ("name", "first_name", "last_name", "company")]
    return folded(" ".join(parts))


def row(contact: Mapping[str, Any]) -> dict[str, Any]:
    """One line of the list: who, where they stand, whose they are."""
    props = contact.get("properties") or {}
    lead = lead_of(contact)
    return {
        "id": contact["id"],
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        **{name: props.get(name) for name in SHOWN},
        "stage": contact.get("stage"),
        "score": contact.get("score"),
        "owner": lead.get("owner"),
        "lead": lead.get("status"),
        "tags": sorted(contact.get("tags") or ()),
        "created_at": contact.get("created_at"),
        "updated_at": contact.get("updated_at"),
    }
