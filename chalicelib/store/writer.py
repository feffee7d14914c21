"""Read a contact, decide, commit; on a lost race read again. The loop every lead handler needs.

A decision is a pure function of the contact as read and the time; `commit` checks the
contact's version, so a concurrent writer makes it Stale and the decision is made again on
fresh data. A decision whose derived event ids are taken (a re-run) is AlreadyDone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.clock import Clock
from chalicelib.errors import Busy, NotFound
from chalicelib.store import optimistic
from chalicelib.store.changes import AlreadyDone, Change, commit
from chalicelib.store.contacts import ContactStore
from chalicelib.store.optimistic import Stale

Decide = Callable[[dict[str, Any], datetime], Change | None]


@dataclass
class ContactWriter:
    contacts: ContactStore
    clock: Clock
    event_shards: int
    timer_shards: int

    def write(self, contact_id: str, decide: Decide, *, must_exist: bool = False) -> Change | None:
        """The change committed; None when there is no such contact, nothing to do or it is done.

        An empty change is returned uncommitted: nothing to write."""
        for attempt in range(optimistic.ATTEMPTS):
            contact = self.contacts.get(contact_id)
            if contact is None:
                if must_exist:
                    raise NotFound(f"no contact {contact_id!r}")
                return None
            now = self.clock.now()
            change = decide(contact, now)
            if change is None or change.empty:
                return change
            try:
                commit(change, now, self.event_shards, self.timer_shards)
            except AlreadyDone:
                return None
            except Stale:
                optimistic.pause(attempt)
                continue
            return change
        raise Busy(f"contact {contact_id} kept changing")
