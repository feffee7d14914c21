"""`leadflow report KIND`: the reports of the API in a terminal (a table), as CSV or as JSON,
against AWS or (with --local) the running `make run` stack."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.contacts.sheet import guard
from chalicelib.reports import table
from chalicelib.reports.credit import Model
from chalicelib.reports.period import Period, PeriodError

# The columns a terminal shows of each report (--csv and --json give every figure).
COLUMNS: dict[str, tuple[str, ...]] = {
    "overview": ("kpi", "value", "previous", "change"),
    "funnel": ("stage", "count", "next_step", "cumulative", "median_minutes", "p90_minutes"),
    "cohorts": (
        "cohort",
        "contacts",
        "subscriber",
        "lead",
        "mql",
        "sql",
        "opportunity",
        "customer",
    ),
    "campaigns": (
        "campaign",
        "spend",
        "contacts",
        "lead",
        "mql",
        "sql",
        "customer",
        "credited_deals",
        "credited_revenue",
        "cost_per_lead",
        "roi",
    ),
    "channels": (
        "channel",
        "spend",
        "contacts",
        "lead",
        "customer",
        "credited_deals",
        "credited_revenue",
        "roi",
    ),
    "emails": (
        "template",
        "sent",
        "delivered",
        "bounced_hard",
        "opens_unique",
        "opens_machine",
        "clicks_unique",
        "unsubscribes",
        "open_rate",
        "click_rate",
    ),
    "journey": (
        "step",
        "kind",
        "entered",
        "moved_on",
        "exited_here",
        "waiting_now",
        "sent",
        "opens_unique",
        "clicks_unique",
    ),
    "sales": (
        "kind",
        "name",
        "handoffs",
        "accepted",
        "accept_minutes_p50",
        "accept_minutes_p90",
        "sla_breaches",
        "recycles",
        "released",
        "deals_won",
        "revenue",
    ),
}


def register(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser(
        "report",
        help="print a report: overview, funnel, campaigns, channels, emails, journey, sales...",
        description="Print a report for a period (UTC days; the last 30 by default) as a table, "
        "or every figure with --csv or --json: the figures of GET /reports/... (docs/reports.md).",
    )
    report.add_argument("kind", choices=sorted(COLUMNS))
    report.add_argument("name", nargs="?", help="journey: its id")
    report.add_argument("--from", dest="first", help="the first day (2026-11-01)")
    report.add_argument("--to", dest="last", help="the last day, included (today by default)")
    report.add_argument("--model", choices=[m.value for m in Model], default=Model.LINEAR.value)
    report.add_argument(
        "--by",
        help="funnel: campaign, channel or source; emails: template, journey, broadcast, campaign",
    )
    report.add_argument("--key", help="funnel: the campaign, channel or source to show")
    out = report.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="every figure of the table, as CSV")
    out.add_argument("--json", action="store_true", help="the whole report, as the API answers")
    report.add_argument("--local", action="store_true", help="the running local stack")
    report.set_defaults(func=run_report)


def _fail(message: str) -> int:
    print(f"leadflow report: {message}", file=sys.stderr)
    return 2


def run_report(args: argparse.Namespace) -> int:
    from chalicelib import bootstrap
    from chalicelib.cli import _use_local_stack
    from chalicelib.services.reports import EMAIL_KINDS, FUNNEL_BY

    if args.kind == "journey" and not args.name:
        return _fail("journey: name the journey (leadflow report journey whitepaper)")
    if args.kind == "funnel" and args.by and args.by not in FUNNEL_BY:
        return _fail(f"--by: a funnel is by {', '.join(FUNNEL_BY)}")
    if args.kind == "funnel" and args.by and args.key is None:
        return _fail(f"--key: name the {args.by} to show")
    if args.kind == "emails" and args.by and args.by not in EMAIL_KINDS:
        return _fail(f"--by: emails are by {', '.join(EMAIL_KINDS)}")
    if args.local:
        _use_local_stack(Path.cwd())
    svc = bootstrap.services()
    try:
        period = Period.of(args.first, args.last, svc.clock.now().date())
    except PeriodError as exc:
        return _fail(f"--{exc.field}: {exc}")
    reports, model = svc.reports, Model(args.model)
    body: dict[str, Any] | None = {
        "overview": lambda: reports.overview(period),
        "funnel": lambda: reports.funnel(period, args.by, args.key),
        "cohorts": lambda: reports.cohorts(period),
        "campaigns": lambda: reports.campaigns(period, model),
        "channels": lambda: reports.channels(period, model),
        "emails": lambda: reports.emails(period, args.by or "template"),
        "journey": lambda: reports.journey(period, args.name),
        "sales": lambda: reports.sales(period),
    }[args.kind]()
    if body is None:
        return _fail(f"journey: no journey {args.name!r} is live or was counted")
    rows = body.get("rows", [])
    if args.json:
        print(json.dumps(table.plain(body), ensure_ascii=False, indent=2, default=str))
        return 0
    if args.csv:
        header, cells = table.tabulate(rows)
        writer = csv.writer(sys.stdout)
        writer.writerow([guard(h) for h in header])
        writer.writerows([guard(c) for c in row] for row in cells)
        return 0
    columns = list(COLUMNS[args.kind])
    if args.kind == "emails":
        columns[0] = args.by or "template"
    currency = f" ({body['currency']})" if "currency" in body else ""
    print(f"{args.kind} {period.first} to {period.last}{currency}")
    print(table.text(*table.tabulate(rows, columns)) if rows else "(nothing counted yet)")
    return 0
