"""`leadflow import FILE` and `leadflow export FILE`: a marketer's spreadsheet in and out,
against AWS or (with --local) the running `make run` stack; `leadflow imports list`: the
import jobs started through the API."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from chalicelib.cli.width import fit
from chalicelib.consent import PURPOSE_IN_BULK, PURPOSE_PREFIX
from chalicelib.contacts.columns import MappingError
from chalicelib.contacts.encoding import EncodingError
from chalicelib.contacts.reconcile import OnExisting
from chalicelib.contacts.records import tag_fault
from chalicelib.contacts.sheet import SheetError
from chalicelib.leads import normalise, ownership
from chalicelib.lifecycle import Stage
from chalicelib.store.import_jobs import STATUSES
from chalicelib.store.imports import MAX_LISTS
from chalicelib.store.tables import json_ready


def register(sub: argparse._SubParsersAction) -> None:
    load = sub.add_parser(
        "import",
        help="import contacts from a CSV or .xlsx file",
        description="Import contacts from CSV (comma, semicolon or tab; UTF-8, UTF-16 or GBK) "
        "or .xlsx. Rows are matched to contacts by email, else phone. Run it again with the "
        "same file and options to resume an interrupted import.",
    )
    load.add_argument("file", type=Path)
    load.add_argument(
        "--dry-run", action="store_true", help="count what would happen; write nothing"
    )
    load.add_argument(
        "--on-existing",
        choices=[m.value for m in OnExisting],
        default=OnExisting.UPDATE.value,
        help="a row whose contact exists: update it (default), skip it, or fill-empty fields only",
    )
    load.add_argument("--encoding", help="read the CSV in this encoding (gb18030, big5, ...)")
    load.add_argument("--map", type=Path, help="a YAML mapping file: column header -> field")
    load.add_argument("--tag", action="append", default=[], help="tag everyone (repeatable)")
    load.add_argument("--list", action="append", default=[], help="put everyone on a list")
    load.add_argument(
        "--consent-topics",
        default="",
        help="what the file's consent column is about, e.g. marketing,newsletter",
    )
    load.add_argument("--consent-source", default="", help="where the consent was given")
    load.add_argument("--phone-region", help="read numbers without +country code as this (CN)")
    load.add_argument("--rejected", type=Path, help="where to write rejected rows (CSV)")
    load.add_argument("--json", action="store_true", help="print the summary as JSON")
    load.add_argument("--local", action="store_true", help="the running local stack")
    load.set_defaults(func=run_import)

    dump = sub.add_parser("export", help="export contacts to CSV or .xlsx")
    dump.add_argument("file", type=Path, help="where to write (.xlsx by the suffix, else CSV)")
    dump.add_argument("--segment", help="only this segment's or list's members")
    dump.add_argument("--fields", default="", help="the columns, in order (email,phone,company)")
    dump.add_argument("--encoding", choices=["utf-8", "gbk"], default="utf-8")
    dump.add_argument("--local", action="store_true", help="the running local stack")
    dump.set_defaults(func=run_export)

    jobs = sub.add_parser("imports", help="import jobs started through the API").add_subparsers(
        dest="imports", required=True
    )
    listing = jobs.add_parser("list", help="the import jobs, newest first, a page at a time")
    listing.add_argument("--status", choices=STATUSES, help="only jobs in this status")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--after", help="the cursor a previous page printed")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--local", action="store_true", help="the running local stack")
    listing.set_defaults(func=run_imports)


def register_contacts(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("contacts", help="the contact list").add_subparsers(
        dest="contacts", required=True
    )
    listing = group.add_parser("list", help="contacts, filtered, a page at a time")
    listing.add_argument("--stage")
    listing.add_argument("--lead", help="the lead's status: pool lists the shared pool")
    listing.add_argument("--owner")
    listing.add_argument("--tag")
    listing.add_argument("--segment", help="a segment's or list's members")
    listing.add_argument("--since", help="created on or after (ISO date)")
    listing.add_argument("--updated-since", help="updated on or after (ISO date)")
    listing.add_argument("--search", help="text in the name, email, phone or company")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--after", help="the cursor a previous page printed")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--local", action="store_true", help="the running local stack")
    listing.set_defaults(func=run_contacts)
    dupes = group.add_parser("duplicates", help="contacts that may be one person, and why")
    dupes.add_argument("--json", action="store_true", help="print JSON")
    dupes.add_argument("--local", action="store_true", help="the running local stack")
    dupes.set_defaults(func=run_duplicates)
    merging = group.add_parser("merge", help="merge a contact into another (the survivor)")
    merging.add_argument("survivor", help="the contact that stays (id or email)")
    merging.add_argument("merged", help="the contact merged into it (id or email)")
    merging.add_argument(
        "--lock", action="append", default=[], help="a field that keeps the survivor's value"
    )
    merging.add_argument("--local", action="store_true", help="the running local stack")
    merging.set_defaults(func=run_merge)
    consent = group.add_parser(
        "consent",
        help="record consent given or withdrawn by phone, paper or email",
        description="Record a consent the person gave or took back outside a form: an email "
        "topic, * (every marketing email) or a purpose (purpose:sensitive, purpose:third_party, "
        "purpose:cross_border). A withdrawal stops the very next send.",
    )
    consent.add_argument("contact", help="the contact (id or email)")
    consent.add_argument("about", help="a topic, * or purpose:<name>")
    said = consent.add_mutually_exclusive_group(required=True)
    said.add_argument("--given", dest="granted", action="store_true", help="consent given")
    said.add_argument("--withdrawn", dest="granted", action="store_false", help="taken back")
    consent.add_argument("--source", required=True, help="where it came from: 'phone, 30 Nov'")
    consent.add_argument("--version", help="the notice's version (needed when given)")
    consent.add_argument("--text", help="the words the person agreed to")
    consent.add_argument("--local", action="store_true", help="the running local stack")
    consent.set_defaults(func=run_consent)


def run_duplicates(args: argparse.Namespace) -> int:
    svc = _services(args)
    with _bar("contacts") as tick:
        found = svc.duplicates.candidates(progress=tick)
    if args.json:
        body = [c.__dict__ for c in found]
        print(json.dumps(body, indent=2, ensure_ascii=False, default=str))
        return 0
    for candidate in found:
        print(f"{candidate.reason}: {candidate.key}")
        for c in candidate.contacts:
            name = c["name"] or " ".join(filter(None, (c["first_name"], c["last_name"])))
            print(f"  {c['id']}  {fit(c['email'] or '-', 32)} {c['phone'] or '-':16} {name or '-'}")
        if candidate.size > len(candidate.contacts):
            print(f"  ... and {candidate.size - len(candidate.contacts)} more")
    print(f"{len(found)} candidate group(s); merge with: leadflow contacts merge SURVIVOR OTHER")
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from chalicelib.errors import LeadflowError

    svc = _services(args)
    try:
        ids = [_contact_id(svc, who) for who in (args.survivor, args.merged)]
        report = svc.merger.merge(ids[0], ids[1], "cli", args.lock)
    except (LeadflowError, ValueError) as exc:
        return _fail("contacts merge", exc)
    r = report.as_dict()
    print(f"merged {r['merged']} into {r['survivor']}")
    print(
        f"moved {r['events_moved']} event(s), {len(r['keys_moved'])} key(s), "
        f"{r['enrollments_moved']} enrollment(s) ({r['enrollments_ended']} ended as merged)"
    )
    for name, how in sorted(r["fields_taken"].items()):
        shown = "the merged contact's value" if how == "merged" else how
        print(f"  {name}: {shown}")
    return 0


def run_consent(args: argparse.Namespace) -> int:
    from chalicelib.errors import LeadflowError

    svc = _services(args)
    try:
        contact_id = _contact_id(svc, args.contact)
        svc.consents.change(
            contact_id,
            args.about,
            args.granted,
            args.source,
            origin="cli",
            version=args.version,
            text=args.text,
        )
    except (LeadflowError, ValueError) as exc:
        return _fail("contacts consent", exc)
    record = ((svc.contacts.get(contact_id) or {}).get("consents") or {}).get(args.about, {})
    state = "given" if record.get("granted") else "withdrawn"
    print(f"{contact_id}: {args.about} {state} at {record.get('at')} ({record.get('source')})")
    return 0


def _contact_id(svc, who: str) -> str:
    if "@" in who:
        found = svc.contacts.find_by_email(who)
        if found is None:
            raise ValueError(f"no contact with the email {who}")
        return found
    return who


def run_contacts(args: argparse.Namespace) -> int:
    from datetime import datetime

    from chalicelib.contacts.listing import ContactFilter, aware
    from chalicelib.roles import Caller

    try:
        since, updated = (
            aware(datetime.fromisoformat(v)) if v else None
            for v in (args.since, args.updated_since)
        )
    except ValueError:
        return _fail("contacts list", "--since and --updated-since take an ISO date (2026-11-01)")
    if not 1 <= args.limit <= 500:
        return _fail("contacts list", "--limit: a whole number from 1 to 500")
    stages = [s.value for s in Stage]
    if args.stage and args.stage not in stages:
        return _fail("contacts list", f"--stage: one of {', '.join(stages)}")
    if args.lead and args.lead not in ownership.STATUSES:
        return _fail("contacts list", f"--lead: one of {', '.join(ownership.STATUSES)}")
    svc = _services(args)
    wanted = ContactFilter(
        stage=args.stage,
        lead=args.lead,
        owner=args.owner,
        tag=args.tag,
        segment=args.segment,
        created_since=since,
        updated_since=updated,
        search=args.search,
    )
    page = svc.directory.page(wanted, Caller("admin"), args.limit, args.after)
    if args.json:  # as GET /contacts answers
        body = json_ready({"contacts": page.contacts, "next": page.next})
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    for c in page.contacts:
        name = c["name"] or " ".join(filter(None, (c["first_name"], c["last_name"])))
        who = c["email"] or c["phone"]
        company, stage, owner = (c[k] or "-" for k in ("company", "stage", "owner"))
        print(f"{fit(who, 32)} {fit(name or '-', 16)} {fit(company, 24)} {stage:11} {owner}")
    print(
        f"{len(page.contacts)} contact(s)" + (f"; more: --after {page.next}" if page.next else "")
    )
    return 0


def run_import(args: argparse.Namespace) -> int:
    from chalicelib.services.importer import ImportOptions

    try:
        options = ImportOptions(
            on_existing=OnExisting(args.on_existing),
            encoding=args.encoding,
            mapping=_mapping(args.map) if args.map else None,
            tags=frozenset(normalise.line(t) for t in args.tag if t.strip()),
            lists=frozenset(args.list),
            consent_topics=tuple(t.strip() for t in args.consent_topics.split(",") if t.strip()),
            consent_source=args.consent_source,
            phone_region=_region(args.phone_region),
        )
    except (ValueError, OSError) as exc:
        return _fail("import", exc)
    if any(t.startswith(PURPOSE_PREFIX) for t in options.consent_topics):
        return _fail("import", f"--consent-topics takes {PURPOSE_IN_BULK}")
    if not args.file.is_file():
        return _fail("import", f"{args.file}: no such file")
    if len(options.lists) > MAX_LISTS:
        return _fail("import", f"--list: at most {MAX_LISTS} lists")
    bad_tags = [t for t in sorted(options.tags) if tag_fault(t)]
    if bad_tags:
        return _fail("import", f"--tag {bad_tags[0]!r}: {tag_fault(bad_tags[0])}")
    svc = _services(args)
    unknown = [name for name in sorted(options.lists) if not _is_list(svc, name)]
    if unknown:
        return _fail("import", f"--list: {', '.join(unknown)} is not a published static list")
    rejected = args.rejected or args.file.with_name(args.file.stem + ".rejected.csv")
    if rejected.is_dir() or not rejected.parent.is_dir():
        return _fail("import", f"--rejected {rejected}: give a file in a folder that exists")
    try:
        with _bar("import") as tick:
            summary = svc.importer.run(
                args.file, options, dry_run=args.dry_run, rejected=rejected, progress=tick
            )
    except (EncodingError, SheetError, MappingError) as exc:
        return _fail("import", f"{args.file}: {exc}")
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
        return 0
    _print_summary(summary.as_dict())
    return 0


def run_imports(args: argparse.Namespace) -> int:
    from datetime import datetime

    from chalicelib.api.imports import CURSOR

    if not 1 <= args.limit <= 500:
        return _fail("imports list", "--limit: a whole number from 1 to 500")
    if args.after is not None and not CURSOR.fullmatch(args.after):
        return _fail("imports list", "--after takes the cursor a previous page printed")
    jobs, after = _services(args).imports.newest(args.limit, args.status, args.after)
    if args.json:
        print(json.dumps({"imports": jobs, "next": after}, indent=2, ensure_ascii=False))
        return 0
    for job in jobs:
        started = f"{datetime.fromisoformat(job['created_at']):%Y-%m-%d %H:%M}"
        done = _progress(job) + (" (dry run)" if job["dry_run"] else "")
        print(f"{job['id']}  {started}  {job['status']:8} {job['file']}  {done}  by {job['by']}")
    print(f"{len(jobs)} import(s)" + (f"; more: --after {after}" if after else ""))
    return 0


def _progress(job: dict[str, Any]) -> str:
    """What a job did, in the words of `leadflow import`'s summary."""
    if job["status"] == "failed":
        return f"failed: {job['error']}"
    if not job["summary"]:
        return f"{job['rows_read']} row(s) read so far"
    return _counts(job["summary"])


def _print_summary(s: dict[str, Any]) -> None:
    read = s["format"] if s["format"] == "xlsx" else f"CSV, {s['encoding']}, {_sep(s['separator'])}"
    print(f"{'dry run: ' if s['dry_run'] else ''}{s['file']} ({read})")
    print("columns: " + ", ".join(f"{h} -> {f}" for h, f in s["columns"].items()))
    for header, why in s["ignored_columns"].items():
        print(f"ignored column {header!r}: {why}")
    if s["resumed_after_row"]:
        print(f"resumed after row {s['resumed_after_row']}")
    print(_counts(s))
    if s["rejected_file"]:
        print(f"rejected rows: {s['rejected_file']}")


def _counts(s: dict[str, Any]) -> str:
    counts = ", ".join(
        f"{s[k]} {k}" for k in ("create", "update", "unchanged", "skipped", "rejected")
    )
    return f"{s['rows']} row(s): {counts}"


def _sep(separator: str | None) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}.get(separator or ",", repr(separator))


def run_export(args: argparse.Namespace) -> int:
    svc = _services(args)
    if args.segment and svc.segments.book() and args.segment not in svc.segments.book().segments:
        return _fail("export", f"--segment: no published segment or list {args.segment!r}")
    fields = [f.strip() for f in args.fields.split(",") if f.strip()]
    from chalicelib.services.exporter import ExportError

    try:
        with _bar("export") as tick:
            done = svc.exporter.export(
                args.file,
                segment=args.segment,
                fields=fields,
                encoding=args.encoding,
                progress=tick,
            )
    except (ExportError, OSError) as exc:
        return _fail("export", exc)
    print(f"exported {done.rows} contact(s) to {done.path}: {', '.join(done.columns)}")
    return 0


def _services(args: argparse.Namespace):
    from chalicelib import bootstrap
    from chalicelib.cli import _use_local_stack

    if args.local:
        _use_local_stack(Path.cwd())
    return bootstrap.services()


def _is_list(svc, name: str) -> bool:
    book = svc.segments.book()
    segment = book.segments.get(name) if book else None
    return segment is not None and segment.static


def _region(region: str | None) -> str | None:
    if not region:
        return None
    try:
        return normalise.country(region)
    except normalise.InvalidValue as exc:
        raise ValueError(f"--phone-region {region!r}: {exc}") from None


def _mapping(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"--map {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        raise ValueError(f"--map {path}{line}: not a YAML mapping file ({exc})") from None
    columns = loaded.get("columns") if isinstance(loaded, dict) else None
    if not isinstance(columns, dict):
        raise ValueError(f"--map {path}: give `columns:` with one `header: field` per line")
    return {str(k): (None if v is None else str(v)) for k, v in columns.items()}


class _bar:
    """A rows-per-second counter on a terminal (gone when done); nothing when piped."""

    def __init__(self, what: str) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn(f"{what} row {{task.completed}}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.task = self.progress.add_task(what, total=None)

    def __enter__(self):
        self.progress.__enter__()
        return lambda n: self.progress.update(self.task, completed=n)

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)


def _fail(command: str, problem: object) -> int:
    print(f"leadflow {command}: {problem}", file=sys.stderr)
    return 1
