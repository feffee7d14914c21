"""Duplicate candidates over every contact, in one pass and constant memory.

Each contact's candidate keys (contacts/duplicates.py) go to a scratch SQLite file; a key two
or more contacts share is a candidate group. Nothing is merged here: a person looks at each
group and merges with `leadflow contacts merge` or POST /contacts/merge.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.contacts import duplicates
from chalicelib.contacts.listing import row
from chalicelib.store.contacts import ContactStore

GROUP_LIMIT = 20
"""Contacts shown per group; a larger group (a shared switchboard number) says how many."""
GROUPS = 500
"""Groups reported at most, largest reasons first in their order: merge some, run again."""
PAGE = 500


@dataclass(frozen=True)
class Candidate:
    reason: str
    key: str
    contacts: list[dict[str, Any]]
    size: int


class DuplicateFinder:
    def __init__(self, contacts: ContactStore) -> None:
        self.contacts = contacts

    def candidates(self, progress: Callable[[int], None] = lambda n: None) -> list[Candidate]:
        with tempfile.TemporaryDirectory(prefix="leadflow-duplicates-") as folder:
            db = sqlite3.connect(Path(folder) / "keys.db")
            try:
                return self._find(db, progress)
            finally:
                db.close()

    def _find(self, db: sqlite3.Connection, progress: Callable[[int], None]) -> list[Candidate]:
        db.execute("create table k (reason text, key text, contact_id text)")
        after, seen = None, 0
        while True:
            page, after = self.contacts.scan_page(after, PAGE)
            rows = [(r, k, c["id"]) for c in page for r, k in duplicates.keys(c)]
            db.executemany("insert into k values (?, ?, ?)", rows)
            seen += len(page)
            progress(seen)
            if after is None:
                break
        groups = db.execute(
            "select reason, key, group_concat(contact_id, char(31)), count(*) from k "
            "group by reason, key having count(distinct contact_id) > 1 order by reason, key "
            "limit ?",
            (GROUPS,),
        ).fetchall()
        out = []
        for reason, key, ids, size in groups:
            wanted = sorted(set(ids.split("\x1f")))[:GROUP_LIMIT]
            found = self.contacts.get_many(wanted)
            contacts = [found[c] for c in wanted if c in found]
            if len(contacts) > 1 and duplicates.worth_reporting(reason, contacts):
                out.append(Candidate(reason, key, [row(c) for c in contacts], size))
        return out
