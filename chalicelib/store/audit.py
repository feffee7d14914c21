"""The audit log's store: entries are written once and read back newest first, a month's
partition at a time, filtered by actor, action or outcome. There is no update and no delete
here, and the deployed role is denied both on the table."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.clock import Clock
from chalicelib.store import tables
from chalicelib.store.models import AuditModel

MAX_DETAIL_CHARS = 20_000  # a before/after larger than this is cut, and says so


@dataclass(frozen=True)
class Actor:
    """Who acted: an API key (its id, name and role), a dashboard login, or the CLI."""

    kind: str
    id: str
    name: str = ""
    role: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "name": self.name, "role": self.role}


@dataclass(frozen=True)
class Entry:
    actor: Actor
    action: str
    status: int
    target: str | None = None
    source: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    id: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat() if self.at else None,
            "actor": self.actor.as_dict(),
            "action": self.action,
            "target": self.target,
            "source": self.source,
            "status": self.status,
            "details": self.details,
        }


@dataclass(frozen=True)
class Wanted:
    """Which entries to read: a time range, and optionally one actor (key id or name), an
    action's start ("POST /keys", "cli") and refusals only."""

    since: datetime
    until: datetime
    actor: str | None = None
    action: str | None = None
    refused: bool = False

    def holds(self, entry: Entry) -> bool:
        return (
            (self.actor is None or self.actor in (entry.actor.id, entry.actor.name))
            and (self.action is None or entry.action.startswith(self.action))
            and (not self.refused or entry.status >= 400)
        )


def _bounded(details: dict[str, Any]) -> dict[str, Any]:
    text = repr(details)
    if len(text) <= MAX_DETAIL_CHARS:
        return details
    return {"truncated": True, "summary": text[:MAX_DETAIL_CHARS]}


class AuditLog:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def record(self, entry: Entry) -> Entry:
        """Write the entry, stamped now; never over another. The suffix (this machine's
        nanoseconds, then random) orders entries stamped at the same instant as they came."""
        now = self.clock.now()
        key = f"{now.isoformat()}#{time.time_ns():016x}{secrets.token_hex(2)}"
        AuditModel(
            month=f"{now:%Y-%m}",
            entry=key,
            actor=entry.actor.as_dict(),
            action=entry.action,
            target=entry.target,
            source=entry.source,
            status=entry.status,
            details=_bounded(entry.details),
        ).save(condition=AuditModel.entry.does_not_exist())
        return replace(entry, at=now, id=key)

    def read(self, wanted: Wanted, limit: int = 100, after: str | None = None) -> list[Entry]:
        """Up to `limit` entries, newest first, older than the entry id `after` if given."""
        out: list[Entry] = []
        for item in self._newest_first(wanted, after):
            if item.entry == after:
                continue
            found = _entry(item)
            if wanted.holds(found):
                out.append(found)
                if len(out) >= limit:
                    break
        return out

    def _newest_first(self, wanted: Wanted, after: str | None) -> Iterator[AuditModel]:
        since, until = (t.astimezone(UTC) for t in (wanted.since, wanted.until))
        lower = since.isoformat()  # entries are stamped in UTC: compared as text
        upper = min(after or "~", (until + timedelta(microseconds=1)).isoformat())
        if upper < lower:
            return
        for month in _months(since, until):
            yield from AuditModel.query(
                month,
                AuditModel.entry.between(lower, upper),
                scan_index_forward=False,
            )


def _months(since: datetime, until: datetime) -> list[str]:
    """Every month from `until` back to `since`, newest first."""
    months, year, month = [], until.year, until.month
    while (year, month) >= (since.year, since.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def _entry(item: AuditModel) -> Entry:
    actor = tables.plain(item.actor) or {}
    return Entry(
        actor=Actor(**{k: str(actor.get(k, "")) for k in ("kind", "id", "name", "role")}),
        action=item.action,
        status=int(item.status),
        target=item.target,
        source=item.source,
        details=tables.plain(item.details) or {},
        at=datetime.fromisoformat(item.entry.split("#")[0]),
        id=item.entry,
    )
