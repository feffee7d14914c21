"""`leadflow privacy request|fulfil|list`: a person's export, erasure or correction request,
received, fulfilled and listed with its 30-day deadline, against AWS or (with --local)
`make run`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.errors import LeadflowError


def register(sub: argparse._SubParsersAction) -> None:
    privacy = sub.add_parser(
        "privacy", help="privacy requests: export, erase or correct one person's data"
    )
    group = privacy.add_subparsers(dest="privacy", required=True)
    request = group.add_parser("request", help="record a request as received (due in 30 days)")
    request.add_argument("kind", choices=["export", "erasure", "correction"])
    request.add_argument("--email", help="the person's email")
    request.add_argument("--phone", help="or their phone")
    request.add_argument("--region", default="US", help="a phone's country when it has no +")
    request.add_argument("--received", help="when it came, an ISO date (default: today)")
    request.add_argument("--note", help="where it came from, who asked")
    request.add_argument("--fulfil", action="store_true", help="export or erase at once")
    request.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a correction: the field's right value (FIELD= removes it); repeatable",
    )
    request.add_argument("--out", help="an export's JSON goes to this file (default: stdout)")
    request.add_argument("--local", action="store_true")
    request.set_defaults(func=run_request)
    fulfil = group.add_parser("fulfil", help="do a received request: export, or erase")
    fulfil.add_argument("id", help="the request's id (pr_...), as privacy list shows it")
    fulfil.add_argument("--out", help="an export's JSON goes to this file (default: stdout)")
    fulfil.add_argument("--local", action="store_true")
    fulfil.set_defaults(func=run_fulfil)
    listing = group.add_parser("list", help="every request, its deadline and status")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--local", action="store_true")
    listing.set_defaults(func=run_list)


def _services(args: argparse.Namespace) -> Any:
    from chalicelib import bootstrap
    from chalicelib.cli import _use_local_stack

    if args.local:
        _use_local_stack(Path.cwd())
    return bootstrap.services()


def _fail(command: str, problem: object) -> int:
    print(f"leadflow privacy {command}: {problem}", file=sys.stderr)
    return 2


def _show(done: Any, out: str | None, now: datetime) -> None:
    request = done.request.as_dict(now)
    if done.data and done.data.get("tables"):
        text = json.dumps(done.data, indent=2, default=str, ensure_ascii=False)
        if out:  # a person's data: readable by you only
            Path(out).touch(mode=0o600)
            Path(out).chmod(0o600)
            Path(out).write_text(text + "\n", encoding="utf-8")
            print(f"{request['id']}: exported to {out}")
        else:
            print(text)
            return
    result = request["result"] or {}
    if request["kind"] == "correction":
        fields = ", ".join(result.get("corrected") or []) or "nothing (already so)"
        print(f"{request['id']}: correction done, corrected {fields}")
        return
    counts = result.get("deleted") or result.get("items") or {}
    what = ", ".join(f"{n} {table}" for table, n in sorted(counts.items()) if n) or "nothing"
    verb = "deleted" if request["kind"] == "erasure" else "exported"
    if request["status"] == "done":
        print(f"{request['id']}: {request['kind']} done, {verb} {what}")
    else:
        print(f"{request['id']}: {request['kind']} received, due {request['due_at'][:10]}")


def run_request(args: argparse.Namespace) -> int:
    svc = _services(args)
    received = None
    if args.received:
        try:
            received = datetime.fromisoformat(args.received).replace(tzinfo=svc.clock.now().tzinfo)
        except ValueError:
            return _fail("request", "--received takes an ISO date (2026-11-20)")
    fields = dict(pair.partition("=")[::2] for pair in args.set)
    if any("=" not in pair for pair in args.set):
        return _fail("request", "--set takes FIELD=VALUE (FIELD= removes the field)")
    if args.set and args.kind != "correction":
        return _fail("request", "--set is for a correction")
    try:
        subject = svc.privacy.subject(args.email, args.phone, args.region)
        if args.kind == "correction":
            values = {k: v or None for k, v in fields.items()}
            done = svc.privacy.correct(subject, values, "cli", received, args.note)
            made = done.request
        else:
            made = svc.privacy.receive(args.kind, subject, "cli", received, args.note)
            done = svc.privacy.fulfil(made.id) if args.fulfil else None
    except LeadflowError as exc:
        return _fail("request", exc.message)
    from chalicelib.services.privacy import Fulfilled

    _show(done or Fulfilled(made, None), args.out, svc.clock.now())
    if made.contact_id is None:
        print("no contact has this email or phone: nothing is stored about them", file=sys.stderr)
    return 0


def run_fulfil(args: argparse.Namespace) -> int:
    svc = _services(args)
    try:
        done = svc.privacy.fulfil(args.id)
    except LeadflowError as exc:
        return _fail("fulfil", exc.message)
    _show(done, args.out, svc.clock.now())
    return 0


def run_list(args: argparse.Namespace) -> int:
    requests = _services(args).privacy.all()
    if args.json:
        print(json.dumps(requests, indent=2, default=str, ensure_ascii=False))
        return 0
    for r in requests:
        late = "  OVERDUE" if r["overdue"] else ""
        print(
            f"{r['id']}  {r['kind']:8} {r['status']:5} received {r['received_at'][:10]}"
            f"  due {r['due_at'][:10]}{late}  {r['note'] or ''}"
        )
    print(f"{len(requests)} request(s)")
    return 0
