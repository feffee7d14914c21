"""`make bench`: what a month of the reference scenario costs on AWS, counted from the real code.

Reference: 100,000 contacts, 10,000 new leads (2,000 of them hot and handed off), 1,000,000
tracked events, about 400,000 emails, 10 live journeys, 20 segments, the dashboard opened 500
times a month. bench/month.py plays that month at `--contacts` / 100,000 through the API, the
pipeline, the tick and the queues on the local engine; bench/meter.py counts every AWS request
by botocore's event hooks, with the read and write units DynamoDB bills; the work that runs
on a schedule whatever the volume (the tick and sweeper every minute, the nightly roll-up)
and the dashboard are measured per run and multiplied by how often they run. Prices come
from bench/prices.toml (dated, with their pages); nothing here is a typed-in request count.

    .venv/bin/python bench/cost.py [--contacts 80] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.meter import Meter, Request  # noqa: E402
from bench.month import DAYS, REFERENCE_CONTACTS, START, Month  # noqa: E402
from bench.month import marketing_of_the_scenario as scenario_content  # noqa: E402
from bench.pricing import GB, Bill, Usage, item_bytes, load_prices  # noqa: E402

INFRA_TARGET = 15.0  # $ a month, everything but SES's price per email
PER_THOUSAND_TARGET = 0.65  # $ per 1,000 contacts a month, all in
JOURNEY_IDS = frozenset(p.stem for p in (ROOT / "marketing" / "journeys").glob("*.yaml"))
DASHBOARD_OPENS = 500
MINUTES = DAYS * 24 * 60  # the tick and the sweeper run every minute (app.py)
QUICK = ["--contacts", "10", "--dashboard", "2"]
PROBED_LEADS, PROBED_EVENTS = 5, 20
TABLE_PREFIX = "bench-cost-"
OVERHEAD = 100  # bytes DynamoDB adds to each item's size for storage
FIXED_TABLES = ("content", "asset-parts")  # published marketing/ and its files

EMAIL, LEADS, TRACKED, DASHBOARD, ALWAYS = (
    "emails and journeys",
    "leads and sales",
    "tracked events",
    "dashboard",
    "every minute, every night",
)
GROUPS = (EMAIL, LEADS, TRACKED, DASHBOARD, ALWAYS)
FIXED = ("tick idle", "sweeper idle", "rollup")
EMAIL_EVENTS = ("email_", "unsubscribed", "topic_", "journey_", "broadcast_")


def group_of(driver: str) -> str:
    """Which part of the product a request served, from who made it."""
    kind, _, rest = driver.partition(" ")
    if driver in FIXED:
        return ALWAYS
    if kind == "pipeline":
        if rest == "page_viewed":
            return TRACKED
        return EMAIL if rest.startswith(EMAIL_EVENTS) else LEADS
    if kind == "api":
        if rest.startswith("GET /dashboard"):
            return DASHBOARD
        if rest.startswith("POST /events"):
            return TRACKED
        return LEADS if rest.startswith(("POST /forms", "POST /leads")) else EMAIL
    if driver in ("webhooks", "sqs poller webhooks"):
        return LEADS
    return EMAIL  # sender, its queue poller, the tick's due journey steps and broadcasts


@dataclass
class Run:
    meter: Meter
    month: Month
    contacts: int
    dashboard_opens: int
    idle_ticks: int
    stored: dict[str, tuple[int, int]]  # table -> (items, bytes) after the month
    seconds: float
    month_end: int  # requests after this mark are the probes', not the month's
    probes: dict[str, tuple[list[Request], int]]  # unit -> (its requests, how many units)

    @property
    def requests(self) -> list[Request]:
        return self.meter.requests[: self.month_end]

    def to_month(self, driver: str) -> float:
        """What one request of `driver` in this run stands for in the reference month: the
        nightly roll-up ran every night of the month, idle ticks and sweeps run every minute,
        the dashboard 500 times, and the rest is the month at the run's scale."""
        if driver == "rollup":
            return 1.0
        if driver in FIXED:
            return MINUTES / self.idle_ticks
        if group_of(driver) == DASHBOARD:
            return DASHBOARD_OPENS / self.dashboard_opens
        return REFERENCE_CONTACTS / self.contacts


def lambda_memory_gb(function: str) -> float:
    """The configured memory of a function in the prod stage (.chalice/config.json)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = config["stages"]["prod"]
    own = stage.get("lambda_functions", {}).get(function, {})
    mb = (
        own.get("lambda_memory_size")
        or stage.get("lambda_memory_size")
        or config.get("lambda_memory_size")
        or load_prices()["aws"]["lambda"]["default_memory_mb"]
    )
    return float(mb) / 1024


def mapped_queues() -> int:
    """Queues a Lambda event source mapping polls (infra/template.py), whether busy or not."""
    from infra.template import render

    resources = render("prod")["Resources"].values()
    return sum(
        1
        for r in resources
        if r.get("Type") == "AWS::Lambda::EventSourceMapping"
        and "Queue" in json.dumps(r["Properties"].get("EventSourceArn", ""))
    )


def bill_of(run: Run, prices: dict[str, Any]) -> Bill:
    scale = REFERENCE_CONTACTS / run.contacts
    month, bill = run.month, Bill(prices)
    aws = prices["aws"]
    by_driver: dict[str, list[Request]] = defaultdict(list)
    for r in run.requests:
        by_driver[r.driver].append(r)

    idle = Usage.of(by_driver["tick idle"]).scaled(1 / run.idle_ticks)
    sweep = Usage.of(by_driver["sweeper idle"]).scaled(1 / run.idle_ticks)
    per_group: dict[str, Usage] = defaultdict(Usage)
    for driver, requests in by_driver.items():
        if driver in ("setup", "stream poller", "tick idle", "sweeper idle"):
            continue
        usage = Usage.of(requests)
        if driver == "tick":  # the every-minute part is priced below, once per minute
            usage = usage - idle.scaled(month.volumes.ticks)
        per_group[group_of(driver)] += usage.scaled(run.to_month(driver))
    per_group[ALWAYS] += (idle + sweep).scaled(MINUTES)
    for group in GROUPS:
        bill.usage(group, per_group[group])

    # Lambda: invocations and GB-seconds, measured per invocation here.
    durations = month.durations
    api_requests = month.volumes.api_requests
    for group in (EMAIL, LEADS, TRACKED):
        routes = [r for r in api_requests if group_of(f"api {r}") == group]
        share = sum(api_requests[r] for r in routes) / max(1, sum(api_requests.values()))
        calls = sum(api_requests[r] for r in routes) * scale
        seconds = sum(durations["api"]) * share * scale
        bill.lambda_(group, "API", calls, seconds * lambda_memory_gb("api_handler"))
        bill.add(
            group, "API Gateway requests", calls, "requests", aws["api_gateway"]["rest_request"]
        )
    opens = DASHBOARD_OPENS / run.dashboard_opens
    bill.lambda_(
        DASHBOARD,
        "API",
        len(durations["dashboard"]) * opens,
        sum(durations["dashboard"]) * opens * lambda_memory_gb("api_handler"),
    )
    bill.add(
        DASHBOARD,
        "API Gateway requests",
        len(durations["dashboard"]) * opens,
        "requests",
        aws["api_gateway"]["rest_request"],
    )
    events = month.volumes.events
    for group in (EMAIL, LEADS, TRACKED):
        # At this traffic a 1-second batching window holds about one event: one invocation
        # per event (the most it can be), its time shared by the events processed.
        n = sum(c for t, c in events.items() if group_of(f"pipeline {t}") == group)
        seconds = sum(durations["pipeline"]) * n / max(1, sum(events.values()))
        bill.lambda_(group, "pipeline", n * scale, seconds * scale * lambda_memory_gb("pipeline"))
    for function, group in (("sender", EMAIL), ("webhooks", LEADS)):
        bill.lambda_(
            group,
            function,
            len(durations[function]) * scale,
            sum(durations[function]) * scale * lambda_memory_gb(function),
        )
    idle_s = statistics.mean(durations["tick idle"])
    due_s = max(0.0, sum(durations["tick"]) - idle_s * month.volumes.ticks) * scale
    bill.lambda_(EMAIL, "tick (due work)", 0, due_s * lambda_memory_gb("tick"))
    bill.lambda_(ALWAYS, "tick", MINUTES, idle_s * MINUTES * lambda_memory_gb("tick"))
    bill.lambda_(
        ALWAYS,
        "sweeper",
        MINUTES,
        statistics.mean(durations["sweeper idle"]) * MINUTES * lambda_memory_gb("sweeper"),
    )

    sqs, sns = aws["sqs"], aws["sns"]
    polls = (
        mapped_queues() * sqs["idle_pollers_per_queue"] * MINUTES * 60 / sqs["long_poll_seconds"]
    )
    bill.add(
        ALWAYS,
        "SQS long polls of idle queues (Lambda's pollers)",
        polls,
        "requests",
        sqs["request"],
    )
    notes = month.volumes.notifications * scale
    bill.add(
        EMAIL, "SNS publishes (SES delivery and bounce events)", notes, "publishes", sns["publish"]
    )
    bill.add(
        EMAIL,
        "SNS HTTPS deliveries to /ses/notifications",
        notes,
        "deliveries",
        sns["https_delivery"],
    )
    # DynamoDB bills 100 bytes of overhead per item; content does not grow with the list.
    stored = {t: size + OVERHEAD * items for t, (items, size) in run.stored.items()}
    fixed = sum(v for t, v in stored.items() if t in FIXED_TABLES)
    stored_gb = ((sum(stored.values()) - fixed) * scale + fixed) / GB
    ddb = aws["dynamodb"]
    bill.add(ALWAYS, "DynamoDB storage", stored_gb, "GB-month", ddb["storage_gb_month"])
    bill.add(
        ALWAYS,
        "DynamoDB point-in-time recovery",
        stored_gb,
        "GB-month",
        ddb["point_in_time_recovery_gb_month"],
    )
    bill.add(
        ALWAYS,
        "Secrets Manager (link signing, your secrets)",
        2,
        "secret",
        aws["secrets_manager"]["secret_month"],
    )
    return bill


def play(contacts: int, dashboard_opens: int) -> Run:
    meter = Meter().install()  # before any client exists, so every one is hooked
    from app import app
    from bench.backend import bench_settings
    from chalicelib import bootstrap
    from chalicelib.clock import FakeClock
    from chalicelib.content import catalog
    from chalicelib.local import emulator
    from chalicelib.local.provision import provision
    from chalicelib.store import tables

    began = time.perf_counter()
    meter.counting = False
    engine = emulator.start()
    try:
        settings = bench_settings(LEADFLOW_TABLE_PREFIX=TABLE_PREFIX, AWS_REGION="us-east-1")
        clock = FakeClock(START)
        svc = bootstrap.build(settings, clock, sleep=lambda s: clock.advance(seconds=s))
        bootstrap.reset(svc)
        with tempfile.TemporaryDirectory() as folder:
            content = catalog.load(*scenario_content(ROOT, Path(folder)))
            content.raise_for_problems()
            provision(svc, content)
        month = Month(svc, app, clock, meter, contacts)
        month.stock()
        print(
            f"the list: {contacts:,} contacts posted ({time.perf_counter() - began:.0f} s)",
            flush=True,
        )
        meter.counting = True
        month.play(lambda day: print(f"day {day}", flush=True) if day % 10 == 0 else None)
        idle_ticks = 3
        for _ in range(idle_ticks):
            with meter.paused():
                month.settle()
            month.idle_tick()
        with meter.paused():
            cookie = month.log_in()
        for _ in range(dashboard_opens):
            month.request(
                "get",
                "/dashboard",
                "GET /dashboard",
                function="dashboard",
                headers={"Cookie": cookie},
            )
        with meter.paused():
            stored = stored_bytes(tables)
        month_end = meter.mark()
        probes = {
            "a new lead": (month.probe_leads(PROBED_LEADS), PROBED_LEADS),
            "a tracked event": (month.probe_tracked(PROBED_EVENTS), PROBED_EVENTS),
        }
    finally:
        engine.kill()
        meter.uninstall()
    seconds = time.perf_counter() - began
    return Run(
        meter, month, contacts, dashboard_opens, idle_ticks, stored, seconds, month_end, probes
    )


def stored_bytes(tables: Any) -> dict[str, tuple[int, int]]:
    """Items and bytes per table, as DynamoDB sizes them."""
    from chalicelib.store.models import MODELS

    client = tables.connection().client
    out: dict[str, tuple[int, int]] = {}
    for model in MODELS:
        kwargs: dict[str, Any] = {"TableName": model.Meta.table_name}
        items = size = 0
        while True:
            page = client.scan(**kwargs)
            items += len(page.get("Items", []))
            size += sum(item_bytes(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        out[model.Meta.table_name.removeprefix(TABLE_PREFIX)] = (items, size)
    return out


def money(dollars: float) -> str:
    return f"${dollars:,.2f}" if dollars >= 0.01 or not dollars else f"${dollars:.4f}"


def report(run: Run, bill: Bill) -> tuple[int, dict[str, Any]]:
    prices = bill.prices
    ddb = prices["aws"]["dynamodb"]
    scale = REFERENCE_CONTACTS / run.contacts
    v = run.month.volumes
    print(
        f"\nThe month at 1/{scale:,.0f} scale ({run.seconds:.0f} s): {run.contacts:,} contacts, "
        f"{v.new_leads:,} new leads ({v.hot_leads:,} hot), {v.tracked:,} tracked events, "
        f"{v.emails:,} emails, {sum(v.api_requests.values()):,} API requests, "
        f"{len(run.requests):,} AWS requests counted"
    )
    print(
        f"Scaled to the reference month: {REFERENCE_CONTACTS:,} contacts, "
        f"{v.new_leads * scale:,.0f} new leads ({v.hot_leads * scale:,.0f} hot), "
        f"{v.tracked * scale:,.0f} tracked events, {v.emails * scale:,.0f} emails\n"
        "Emails by journey or broadcast: "
        + ", ".join(f"{k} {n * scale:,.0f}" for k, n in v.emails_by.most_common())
        + "\n"
    )
    print(f"{'':52}{'a month':>16}{'$ a month':>12}")
    for group in GROUPS:
        lines = [line for line in bill.lines if line.group == group]
        print(f"{group}: {money(bill.total(group=group))}")
        for line in sorted(lines, key=lambda x: -x.dollars):
            quantity = (
                f"{line.quantity:,.0f} {line.unit}"
                if line.quantity >= 10
                else (f"{line.quantity:,.2f} {line.unit}")
            )
            print(f"  {line.what:50}{quantity:>16}{money(line.dollars):>12}")
    journeys = {k: n for k, n in v.emails_by.items() if k in JOURNEY_IDS}
    live = len(JOURNEY_IDS)
    per_journey = bill.total(group=EMAIL) * sum(journeys.values()) / max(v.emails, 1) / live
    lead_requests, lead_count = run.probes["a new lead"]
    lead_bill = Bill(prices)
    lead_bill.usage(LEADS, Usage.of(lead_requests))
    per_lead = lead_bill.total() / lead_count
    infra = bill.total(without="SES emails")
    everything = bill.total()
    per_thousand = everything / (REFERENCE_CONTACTS / 1000)
    print(
        "\nBy service: "
        + ", ".join(
            f"{k} {money(d)}" for k, d in sorted(bill.by_service().items(), key=lambda x: -x[1])
        )
    )
    print(
        f"\nper 1,000 contacts a month   {money(per_thousand)}\n"
        f"per journey a month          {money(per_journey)}"
        f"   (the journeys' share of the email work, / {live} journeys live)\n"
        f"per new lead                 {money(per_lead)}"
        "   (DynamoDB, SQS and SES of one new lead end to end, below)"
    )
    print(f"\nPeers' list prices, a month, per 1,000 contacts (read {prices['peers']['read_on']}):")
    print(f"  {'Leadflow on AWS (this bench)':46}{money(per_thousand):>10}")
    for peer in prices["peers"].values():
        if isinstance(peer, dict):
            print(f"  {peer['name']:46}{money(peer['monthly'] / peer['contacts'] * 1000):>10}")
    print("\nOne unit of work, end to end (DynamoDB requests, write and read units, SQS requests)")
    emails = [
        r
        for r in run.requests
        if r.driver not in ("setup", "stream poller", *FIXED) and group_of(r.driver) == EMAIL
    ]
    # As in the bill: the month's ticks less what an idle tick costs (priced per minute).
    idle = Usage.of(r for r in run.requests if r.driver == "tick idle").scaled(1 / run.idle_ticks)
    email_usage = Usage.of(emails) - idle.scaled(v.ticks)
    units = {
        **{unit: (Usage.of(requests), n) for unit, (requests, n) in run.probes.items()},
        "an email sent": (email_usage, max(v.emails, 1)),
    }
    for unit, (usage, n) in units.items():
        dollars = (
            usage.write_units * ddb["write_request_unit"]
            + usage.read_units * ddb["read_request_unit"]
        ) / n
        print(
            f"  {unit:16}{usage.dynamodb_requests / n:8.1f} requests"
            f"{usage.write_units / n:8.1f} WRU{usage.read_units / n:8.1f} RRU"
            f"{usage.sqs_requests / n:6.1f} SQS   DynamoDB {money(dollars)}"
        )
    print(
        "  (a new lead: its form post and all it causes in a day, thank-you email and hand-off\n"
        "  included; a tracked event: a known visitor's page view and the score, segment and\n"
        "  rule changes it makes; an email: its share of the month's email work)"
    )
    print("\nDynamoDB units by table (scaled to the month; read and write together)")
    by_table: dict[str, float] = defaultdict(float)
    for r in run.requests:
        if r.driver not in ("setup", "stream poller"):
            for table, units in r.units_by_table:
                by_table[table.removeprefix(TABLE_PREFIX)] += units * run.to_month(r.driver)
    total_units = sum(by_table.values()) or 1.0
    for table, units in sorted(by_table.items(), key=lambda x: -x[1])[:8]:
        print(f"  {table:30}{units:>16,.0f}{units / total_units:>8.0%}")
    print("\nStored after the month: items, mean item size (bytes)")
    for table, (items, size) in sorted(run.stored.items(), key=lambda x: -x[1][1])[:6]:
        print(f"  {table:30}{items:>10,}{size / max(items, 1):>10,.0f}")
    print("\nTop DynamoDB spenders (scaled to the month)")
    spend: dict[str, float] = defaultdict(float)
    for r in run.requests:
        if r.driver in ("setup", "stream poller"):
            continue
        spend[r.driver] += run.to_month(r.driver) * (
            r.write_units * ddb["write_request_unit"] + r.read_units * ddb["read_request_unit"]
        )
    for driver, dollars in sorted(spend.items(), key=lambda x: -x[1])[:8]:
        print(f"  {driver:50}{money(dollars):>12}")
    checks = [
        (
            infra <= INFRA_TARGET,
            f"infrastructure without SES's price per email {money(infra)} <= ${INFRA_TARGET:g}",
        ),
        (
            per_thousand <= PER_THOUSAND_TARGET,
            f"all in per 1,000 contacts {money(per_thousand)} <= ${PER_THOUSAND_TARGET}",
        ),
    ]
    print()
    for ok, what in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {what}")
    summary = {
        "infrastructure_month": round(infra, 2),
        "all_in_month": round(everything, 2),
        "per_1000_contacts": round(per_thousand, 3),
        "by_group": {k: round(d, 2) for k, d in bill.by_group().items()},
    }
    return (0 if all(ok for ok, _ in checks) else 1), summary


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=80, help="the list's size (80)")
    parser.add_argument("--dashboard", type=int, default=10, help="dashboard opens timed (10)")
    parser.add_argument("--quick", action="store_true", help="a small run for make test")
    args = parser.parse_args(argv)
    if args.quick:
        args = parser.parse_args([*QUICK, *(argv or [])])
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run = play(args.contacts, args.dashboard)
    status, _ = report(run, bill_of(run, load_prices()))
    return status


if __name__ == "__main__":
    sys.exit(main())
