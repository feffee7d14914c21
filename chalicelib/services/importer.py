"""Import a spreadsheet of contacts: stream it, decide each row, write in batches, resume.

Rows are read one at a time and written a transaction's worth at a time, so memory does not
grow with the file. Each batch is decided on what is stored now (one BatchGetItem for the keys,
one for the contacts) and committed with the job's checkpoint; an interrupted import run again
with the same file and options starts after the last committed row. A dry run decides the same
way but keeps what it would have written in a scratch database on disk (later rows of the file
see earlier ones), so it prints the counts the real run will print.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.contacts import columns, sheet
from chalicelib.contacts.reconcile import Action, Consent, OnExisting, applied, decide
from chalicelib.contacts.records import Record, Rejection, read_row
from chalicelib.events import CONTACT_IMPORTED, SEGMENT_ENTERED, Event
from chalicelib.services.segmenter import LISTS
from chalicelib.store.contacts import ContactStore
from chalicelib.store.imports import Checkpoint, ImportStore, Planned, batch_items, row_items

log = logging.getLogger(__name__)
SOURCE = "import"
ATTEMPTS = 3
END = 2**53  # the checkpoint of a file read to its end
REJECTED_HEADER = ["row", "column", "value", "reason"]


@dataclass(frozen=True)
class ImportOptions:
    on_existing: OnExisting = OnExisting.UPDATE
    encoding: str | None = None
    mapping: dict[str, Any] | None = None
    tags: frozenset[str] = frozenset()
    """Added to everyone the file creates or updates."""
    lists: frozenset[str] = frozenset()
    """Static lists everyone in the file is put on."""
    consent_topics: tuple[str, ...] = ()
    """What a yes (or no) in the consent column is about; without topics it is ignored."""
    consent_source: str = ""
    phone_region: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The options as JSON (an API job keeps them), read back by `of`."""
        return {
            "on_existing": self.on_existing.value,
            "encoding": self.encoding,
            "mapping": self.mapping,
            "tags": sorted(self.tags),
            "lists": sorted(self.lists),
            "consent_topics": list(self.consent_topics),
            "consent_source": self.consent_source,
            "phone_region": self.phone_region,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> ImportOptions:
        return cls(
            on_existing=OnExisting(data.get("on_existing") or OnExisting.UPDATE.value),
            encoding=data.get("encoding"),
            mapping=data.get("mapping"),
            tags=frozenset(data.get("tags") or ()),
            lists=frozenset(data.get("lists") or ()),
            consent_topics=tuple(data.get("consent_topics") or ()),
            consent_source=data.get("consent_source") or "",
            phone_region=data.get("phone_region"),
        )


@dataclass
class Summary:
    job: str
    file: str
    kind: str
    encoding: str | None
    separator: str | None
    mapped: dict[str, str]
    """Header -> field."""
    ignored: dict[str, str]
    counts: Counter[str] = field(default_factory=Counter)
    resumed_after: int = 0
    """The last row a previous run committed (0: a fresh start)."""
    dry_run: bool = False
    rejected_file: str | None = None

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "file": self.file,
            "dry_run": self.dry_run,
            "format": self.kind,
            "encoding": self.encoding,
            "separator": self.separator,
            "columns": self.mapped,
            "ignored_columns": self.ignored,
            "rows": self.rows,
            **{a: self.counts.get(a, 0) for a in COUNTED},
            "resumed_after_row": self.resumed_after,
            "rejected_file": self.rejected_file,
        }


ERASED_ROW = (
    "erased at the person's request: a row that grants consent (--consent-topics) adds them again"
)
COUNTED = ("create", "update", "unchanged", "skipped", "rejected")


class Importer:
    def __init__(
        self,
        store: ImportStore,
        contacts: ContactStore,
        clock: Clock,
        erased_marks: Callable[[list[str]], dict[str, str]] | None = None,
    ) -> None:
        self.store = store
        self.contacts = contacts
        self.clock = clock
        self.erased_marks = erased_marks
        """Mark -> key, for the keys' erasure marks (store/privacy.py): none if not given."""

    def run(
        self,
        path: Path,
        options: ImportOptions,
        *,
        dry_run: bool = False,
        rejected: Path | None = None,
        progress: Callable[[int], None] = lambda row: None,
        job: str | None = None,
        finish: bool = True,
        name: str | None = None,
    ) -> Summary:
        """Import `path` (or only decide, with `dry_run`); rejected rows go to `rejected`.

        `job` names the checkpoint (by default the file's and the options' digest, so the
        same command run again resumes); `finish=False` keeps the checkpoint until the
        caller has recorded the summary (`finish_job`). `name` is the file's name as the
        person gave it (an upload is read from a file of another name)."""
        job = job or job_id(path, options)
        with sheet.opened(path, options.encoding) as table, _rejections(rejected) as reject:
            mapping = columns.map_columns(table.header, options.mapping)
            summary = Summary(
                job,
                name or path.name,
                table.kind,
                table.encoding,
                table.separator,
                {table.header[i]: f for i, f in mapping.fields.items()},
                mapping.ignored,
                dry_run=dry_run,
            )
            done = Checkpoint() if dry_run else self.store.resume_point(job)
            summary.resumed_after = done.row if done.row > 1 else 0
            with _scratch(dry_run) as scratch, ThreadPoolExecutor(1, "import-commit") as pool:
                run = _Run(self, job, name or path.name, options, done, scratch, pool)
                try:
                    for number, cells in table.rows:
                        row = read_row(number, cells, table.header, mapping, options.phone_region)
                        if isinstance(row, list):
                            reject(row)
                        if number <= done.row or row is None:
                            continue
                        if isinstance(row, list):
                            run.reject()
                        else:
                            run.add(row)
                        progress(number)
                    run.flush(upto=END)
                    run.settle()
                except BaseException:
                    run.abandon()
                    raise
                for rejection in run.late:
                    reject([rejection])
            summary.counts = Counter({k: v for k, v in done.counts.items() if v})
            summary.rejected_file = str(rejected) if rejected and reject.count else None
        if not dry_run and finish:
            self.store.finish(job)
        if rejected and not reject.count:
            rejected.unlink(missing_ok=True)
        return summary

    def finish_job(self, job: str) -> None:
        """Forget a finished job's checkpoint (after `run(..., finish=False)`)."""
        self.store.finish(job)


class _Run:
    """One pass over the rows: a batch of records, decided and committed together.

    Commits are pipelined one deep: while one batch is written (its items built and sent by
    `commit`, the engine's wait included), the next is read and decided. A batch that shares
    a key with the batch in flight waits for it first, so it is decided on what that batch
    wrote; a contact reached by another key fails the version condition and is decided
    again. Within a batch, a second row for a contact already planned (reached by another
    key) is deferred, as one transaction cannot write an item twice: it is decided once the
    batch is written, and the batch's checkpoint waits for it. Each batch keeps its own
    tally: the checkpoint written with a batch counts every batch before it, as settled,
    and its own rows."""

    def __init__(
        self,
        importer: Importer,
        job: str,
        file: str,
        options: ImportOptions,
        done: Checkpoint,
        scratch: _Scratch | None,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.importer = importer
        self.store = importer.store
        self.job = job
        self.file = file
        self.options = options
        self.done = done
        """What is settled (written, failed rows decided again; in a dry run, decided): rows
        up to `done.row`, counted."""
        self.tally: Counter[str] = Counter()
        """The counts of the rows read since the last batch was flushed."""
        self.scratch = scratch
        self.pool = pool
        self.in_flight: _InFlight | None = None
        self.pending: list[Record] = []
        self.keys: set[str] = set()
        self.room = 0
        self.late: list[Rejection] = []
        self.consent = (
            Consent(
                options.consent_topics,
                options.consent_source or f"import:{file}",
                importer.clock.now().isoformat(),
            )
            if options.consent_topics
            else None
        )

    def add(self, record: Record) -> None:
        size = row_items(len(self.options.lists))
        if self.pending and (self.keys & set(record.identity_keys()) or self.room < size):
            self.flush(upto=record.row - 1)
        if not self.pending:
            self.room = batch_items(len(self.options.lists))
        self.pending.append(record)
        self.keys.update(record.identity_keys())
        self.room -= size

    def reject(self) -> None:
        self.tally["rejected"] += 1

    def flush(self, upto: int) -> None:
        """Decide the batch and hand it to the pool to commit with the checkpoint that says
        every row up to `upto` is done (the rejections among them counted)."""
        records, keys, self.pending, self.keys = self.pending, self.keys, [], set()
        tally, self.tally = self.tally, Counter()
        if self.scratch is not None:
            self._plan(records, tally)
            self.done.row = upto
            self.done.counts.update(tally)
            return
        if self.in_flight is not None and self.in_flight.keys & keys:
            self.settle()  # decided on what the batch in flight writes
        # Decided while the batch in flight is written (the point of the pipeline); settled
        # before this one goes, so its checkpoint counts that batch as finished.
        planned, deferred = self._plan(records, tally)
        self.settle()
        checkpoint = Checkpoint(upto, Counter(self.done.counts))
        checkpoint.counts.update(tally)
        commit = self.pool.submit(
            self.store.commit, self.job, planned, None if deferred else checkpoint
        )
        self.in_flight = _InFlight(commit, keys, tally, upto, deferred)

    def settle(self) -> None:
        """Wait for the batch in flight; decide its failed and deferred rows again and write
        them, then its checkpoint."""
        flight, self.in_flight = self.in_flight, None
        if flight is None:
            return
        failed = flight.commit.result()
        for planned_row in failed:
            self._again(planned_row, flight.tally)
        for record in flight.deferred:
            self._redo(record, flight.tally)
        self.done.row = flight.upto
        self.done.counts.update(flight.tally)
        if failed or flight.deferred:
            self.store.save(self.job, self.done)

    def abandon(self) -> None:
        """After an error or an interruption: wait for the batch in flight, so that nothing
        is written after the run stops, and log its own failure (the error being raised
        would hide it). Its failed or deferred rows are left to the resumed run: its
        checkpoint was not written without them."""
        flight, self.in_flight = self.in_flight, None
        if flight is not None and (error := flight.commit.exception()) is not None:
            log.warning("import %s: the batch being written failed too: %s", self.job, error)

    def _plan(
        self, records: Sequence[Record], tally: Counter[str]
    ) -> tuple[list[Planned], list[Record]]:
        """The batch's rows decided, and the rows deferred: those for a contact another row
        of the batch already writes (never in a dry run, which decides row by row)."""
        keys = [k for r in records for k in r.identity_keys()]
        marks = self.importer.erased_marks(keys) if self.importer.erased_marks else {}
        found = self._owners([*keys, *marks])  # the keys and their marks in one request
        owners = {k: v for k, v in found.items() if k not in marks}
        # A key someone holds again (an import that granted consent) is theirs, as for forms.
        erased = {marks[k] for k in found if k in marks and marks[k] not in owners}
        contacts = self._contacts({owners[k] for k in keys if k in owners})
        for gone in {owners[k] for k in keys if k in owners} - set(contacts):
            survivor = self.importer.contacts.get(gone)  # a key left on a merged contact
            if survivor is not None:
                contacts[survivor["id"]] = survivor
                owners = {k: survivor["id"] if v == gone else v for k, v in owners.items()}
        out: list[Planned] = []
        deferred: list[Record] = []
        writing: set[str] = set()
        # One moment for the batch, as it is written in one transaction: no row of it is newer
        # than another (a merge of two of them keeps the survivor's values).
        now = self.importer.clock.now()
        for record in records:
            contact_id, contact = _match(record, owners, contacts)
            if self.scratch is None and contact_id in writing:
                deferred.append(record)
                continue
            planned = self._decide(record, owners, contact_id, contact, erased, tally, now)
            if planned is not None:
                out.append(planned)
                writing.add(planned.contact_id)
        return out, deferred

    def _owners(self, keys: list[str]) -> dict[str, str]:
        if self.scratch is not None:
            found = self.scratch.owners(keys)
            rest = [k for k in keys if k not in found]
            return {**self.store.owners(rest), **found} if rest else found
        return self.store.owners(keys)

    def _contacts(self, contact_ids: set[str]) -> dict[str, dict[str, Any]]:
        if self.scratch is not None:
            found = self.scratch.contacts(contact_ids)
            rest = [c for c in contact_ids if c not in found]
            return {**self.importer.contacts.get_many(rest), **found}
        return self.importer.contacts.get_many(list(contact_ids))

    def _decide(
        self,
        record: Record,
        owners: dict[str, str],
        contact_id: str,
        contact: dict[str, Any] | None,
        erased: set[str],
        tally: Counter[str],
        now: datetime,
    ) -> Planned | None:
        """What to do with the row for `contact_id` (None `contact`: a new one)."""
        options = self.options
        decision = decide(record, contact, options.on_existing, options.lists, self.consent)
        granted = any(g.get("granted") for g in decision.consents.values())
        if contact is None and erased & set(record.identity_keys()) and not granted:
            tally["rejected"] += 1
            self.late.append(Rejection(record.row, "", "", ERASED_ROW))
            return None
        decision.tags |= set(options.tags) - set((contact or {}).get("tags") or ())
        if decision.action is Action.UNCHANGED and decision.tags:
            decision.action = Action.UPDATE
        tally[decision.action.value] += 1
        if decision.action not in (Action.CREATE, Action.UPDATE):
            return None
        values = {"email": decision.email, "phone": decision.phone}
        claims = [
            k
            for k in record.identity_keys()
            if k not in owners and values[k.partition(":")[0]] == k.partition(":")[2]
        ]
        if self.scratch is not None:  # what the real run would claim, and nothing more
            self.scratch.put(contact_id, claims, applied(contact, record, decision))
            return None
        # A fresh id: the checkpoint, not the id, keeps a resumed import from writing a row
        # twice, and the same file imported again later is a new event for the contact.
        event_id = ids.event_id(now)
        event = Event(
            contact_id,
            event_id,
            CONTACT_IMPORTED,
            now,
            SOURCE,
            {
                "import": self.job,
                "file": self.file,
                "row": record.row,
                "action": decision.action.value,
                "changed": decision.changed,
            },
        )
        entered = [
            Event(
                contact_id,
                ids.effect_event_id(event_id, now, SEGMENT_ENTERED, segment),
                SEGMENT_ENTERED,
                now,
                LISTS,
                {"segment": segment, "by": "import"},
                caused_by=event_id,
            )
            for segment in sorted(decision.lists)
        ]
        version = None if contact is None else int(contact.get("version") or 1)
        return Planned(record, decision, contact_id, version, claims, [event, *entered], now)

    def _again(self, planned: Planned, tally: Counter[str]) -> None:
        """A row whose condition failed: decide it again on what is stored now."""
        tally[planned.decision.action.value] -= 1
        self._redo(planned.record, tally)

    def _redo(self, record: Record, tally: Counter[str]) -> None:
        """Decide a row on what is stored now and write it alone."""
        for _ in range(ATTEMPTS):
            retry, _ = self._plan([record], tally)
            if not retry or self.store.commit_one(retry[0]):
                return
            tally[retry[0].decision.action.value] -= 1
        tally["rejected"] += 1
        self.late.append(
            Rejection(record.row, "", "", "the contact kept changing: import it again")
        )


@dataclass
class _InFlight:
    """A batch handed to the pool to write, and what settling it needs."""

    commit: Future[list[Planned]]
    """The rows whose condition failed, once written."""
    keys: set[str]
    tally: Counter[str]
    upto: int
    deferred: list[Record]


def _match(
    record: Record, owners: dict[str, str], contacts: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any] | None]:
    """The contact the record is about, found as forms find it: by email, else by phone (a
    phone-only contact gains the email); a new contact gets the id its identity derives."""
    email_key = f"email:{record.email}" if record.email else None
    phone_key = f"phone:{record.phone}" if record.phone else None
    if email_key and email_key in owners:
        cid = owners[email_key]
    elif phone_key and phone_key in owners:
        other = contacts.get(owners[phone_key])
        cid = (
            owners[phone_key]
            if other is not None and not (email_key and other.get("email"))
            else None
        )
    else:
        cid = None
    if cid is not None and cid in contacts:
        return cid, contacts[cid]
    kind, _, value = record.key.partition(":")
    return ids.contact_id(kind, value), None


def job_id(path: Path, options: ImportOptions) -> str:
    """The same file with the same options is the same job (so a second run resumes it)."""
    digest = hashlib.sha256(json.dumps(options.as_dict(), sort_keys=True).encode())
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(sheet.CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()[:24]


class _Rejected:
    def __init__(self, writer: Any | None) -> None:
        self.writer = writer
        self.count = 0

    def __call__(self, rejections: list[Rejection]) -> None:
        self.count += 1
        if self.writer is not None:
            for r in rejections:
                self.writer.writerow([r.row, r.column, sheet.guard(r.value), r.reason])


@contextmanager
def _rejections(path: Path | None) -> Iterator[_Rejected]:
    if path is None:
        yield _Rejected(None)
        return
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(REJECTED_HEADER)
        yield _Rejected(writer)


class _Scratch:
    """What a dry run would have written, on disk: later rows of the file see earlier ones."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        db.execute("create table keys (key text primary key, contact_id text)")
        db.execute("create table contacts (id text primary key, body text)")

    def owners(self, keys: list[str]) -> dict[str, str]:
        marks = ",".join("?" * len(keys))
        rows = self.db.execute(f"select key, contact_id from keys where key in ({marks})", keys)
        return dict(rows.fetchall())

    def contacts(self, contact_ids: set[str]) -> dict[str, dict[str, Any]]:
        wanted = list(contact_ids)
        marks = ",".join("?" * len(wanted))
        rows = self.db.execute(f"select id, body from contacts where id in ({marks})", wanted)
        return {cid: _loaded(body) for cid, body in rows.fetchall()}

    def put(self, contact_id: str, keys: list[str], contact: dict[str, Any]) -> None:
        self.db.executemany(
            "insert or ignore into keys values (?, ?)", [(k, contact_id) for k in keys]
        )
        body = json.dumps(contact, default=_plain)
        self.db.execute("insert or replace into contacts values (?, ?)", (contact_id, body))


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def _loaded(body: str) -> dict[str, Any]:
    contact = json.loads(body)
    for name in ("tags", "segments"):
        contact[name] = set(contact.get(name) or ())
    return contact


@contextmanager
def _scratch(dry_run: bool) -> Iterator[_Scratch | None]:
    if not dry_run:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="leadflow-dry-run-") as folder:
        db = sqlite3.connect(Path(folder) / "scratch.db")
        try:
            yield _Scratch(db)
        finally:
            db.close()
