"""`make bench`: what the overview and a campaign page cost to read at N = 10,000 and at
N = 100,000 contacts.

Each set is 60 days of `make demo`-like activity: contacts arriving through the sample
campaigns, channels and sources (and some campaigns no file names), journey emails with
opens and clicks, stages up to customer, hand-offs accepted and deals won. Every synthetic
event goes through reports/tally.py, the code the pipeline's bookkeeper counts with; the
counts are summed in memory and written as the store holds them after the nightly roll-up
(one item per scope and closed day, today's in shards), since writing them one event at a
time would only time the emulator (the capture, segments and burst benches do that). Then
the report services are timed on the stack's engine: server time and DynamoDB items read
per page. Counters grow with days and scopes, not contacts, so both should stay flat.

    .venv/bin/python bench/reports.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.backend import bench_settings  # noqa: E402
from bench.tick import Meter  # noqa: E402
from bench.timing import Sample  # noqa: E402
from chalicelib import bootstrap  # noqa: E402
from chalicelib import events as ev  # noqa: E402
from chalicelib.clock import FakeClock  # noqa: E402
from chalicelib.content import catalog  # noqa: E402
from chalicelib.local import emulator  # noqa: E402
from chalicelib.reports import tally  # noqa: E402
from chalicelib.reports.credit import Touch  # noqa: E402
from chalicelib.reports.period import Period  # noqa: E402
from chalicelib.services import publisher  # noqa: E402
from chalicelib.store import stats, tables  # noqa: E402
from chalicelib.store.models import StatModel  # noqa: E402

RATIO_TARGET = 1.3
OVERVIEW_MS = 300.0
DAYS = 60
END = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
# Small enough for make test, large enough that every day of every campaign has counters.
QUICK = ["--small", "2000", "--large", "4000", "--runs", "2"]
# (utm_campaign, channel, source) and how often people arrive through it.
ARRIVALS = [
    (("playbook-2026", "paid_search", "google"), 30),
    (("playbook", "paid_search", "bing"), 8),
    (("newsletter-cn", "social", "zhihu"), 20),
    (("webinar-invite", "email", "newsletter"), 10),
    (("partner-q4", "referral", "partner.example"), 7),
    (("(none)", "direct", "(direct)"), 15),
    (("(none)", "organic_search", "baidu"), 10),
]
TEMPLATES = [
    ("whitepaper", "thank-you", "playbook-thank-you"),
    ("whitepaper", "case-study", "playbook-case-study"),
    ("whitepaper", "nurture-roi", "nurture-roi"),
    ("newsletter-welcome", "welcome", "newsletter-welcome-zh"),
]
OWNERS = [("ada", "inbound"), ("ben", "inbound"), ("lena", "emea"), ("zhang-wei", "china")]


@dataclass
class Page:
    label: str
    sample: Sample
    items: list[int]
    scans: int = 0


class Counts:
    """Report counters summed in memory, as the store would hold them after every event."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
        self.scopes: dict[str, set[str]] = defaultdict(set)

    def add(self, event: ev.Event, subject: tally.Subject, shard: int) -> None:
        day = event.occurred_at.date()
        # Closed days as the nightly roll-up leaves them: one item; today's still in shards.
        part = stats.ROLLED if day < END.date() else str(shard)
        for c in tally.counts(event, subject):
            bucket = f"{'total' if c.gauge else day.isoformat()}#{shard if c.gauge else part}"
            metrics = self.items[(c.scope, bucket)]
            metrics[c.metric] = metrics.get(c.metric, Decimal(0)) + Decimal(c.amount)
            if c.scope != tally.ALL:
                self.scopes[f"{day.isoformat()}#{part}"].add(c.scope)

    def write(self) -> int:
        client = tables.connection().client
        rows: list[dict[str, Any]] = []
        for (scope, bucket), metrics in self.items.items():
            item: dict[str, Any] = {"scope": {"S": scope}, "bucket": {"S": bucket}}
            item.update({k: {"N": str(v)} for k, v in metrics.items() if v})
            if scope == tally.ALL and bucket in self.scopes:
                item[stats.SCOPES] = {"SS": sorted(self.scopes.pop(bucket))}
            rows.append(item)
        for bucket, seen in self.scopes.items():  # days with no `all` counter of their own
            rows.append(
                {
                    "scope": {"S": tally.ALL},
                    "bucket": {"S": bucket},
                    stats.SCOPES: {"SS": sorted(seen)},
                }
            )
        name = StatModel.Meta.table_name
        for i in range(0, len(rows), 25):
            batch = {name: [{"PutRequest": {"Item": r}} for r in rows[i : i + 25]]}
            while batch:
                batch = client.batch_write_item(RequestItems=batch).get("UnprocessedItems") or {}
        return len(rows)


@dataclass
class Life:
    """One synthetic contact's events, numbered, counted as they happen."""

    counts: Counts
    contact: str
    subject: tally.Subject
    k: int = 0

    def add(
        self, kind: str, when: datetime, subject: tally.Subject | None = None, **props: Any
    ) -> None:
        touch = props.pop("touch", None)
        if when <= END:
            event = ev.Event(
                self.contact, f"{self.contact}-{self.k}", kind, when, "bench", props, touch
            )
            self.counts.add(event, subject or self.subject, stats.shard_of(self.contact))
        self.k += 1

    def but(self, **changes: Any) -> tally.Subject:
        return tally.Subject(**{**self.subject.__dict__, **changes})


def simulate(n: int, seed: int = 7) -> Counts:
    """N contacts' 60 days, counted."""
    rng = random.Random(seed)
    counts = Counts()
    for i in range(n):
        live(counts, rng, i)
    return counts


def live(counts: Counts, rng: random.Random, i: int) -> None:
    cid = f"ct_{i:032x}"
    ((campaign, channel, source),) = rng.choices([a for a, _ in ARRIVALS], [w for _, w in ARRIVALS])
    at = END - timedelta(days=DAYS) + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
    subject = tally.Subject(campaign, channel, source, at.strftime("%Y-%m"), f"{cid}-0")
    life = Life(counts, cid, subject)
    touch = {
        "campaign": None if campaign == "(none)" else campaign,
        "channel": channel,
        "source": source,
    }
    life.add(ev.FORM_SUBMITTED, at, touch=touch)
    life.add(ev.STAGE_CHANGED, at, **{"from": None, "to": "lead"})
    for j, (journey, step, template) in enumerate(TEMPLATES[: rng.randint(1, 3)]):
        sent = at + timedelta(days=3 * j, minutes=1)
        props = {"journey": journey, "step": step, "template": template}
        life.add(ev.EMAIL_SENT, sent, **props)
        life.add(ev.EMAIL_DELIVERED, sent + timedelta(seconds=5), **props)
        if rng.random() < 0.45:
            machine = rng.random() < 0.3
            life.add(
                ev.EMAIL_OPENED, sent + timedelta(hours=2), unique=True, machine=machine, **props
            )
            if rng.random() < 0.3:
                life.add(
                    ev.EMAIL_CLICKED, sent + timedelta(hours=2, minutes=1), unique=True, **props
                )
    if rng.random() >= 0.25:
        return
    mql = at + timedelta(days=rng.randint(1, 10))
    life.add(ev.STAGE_CHANGED, mql, life.but(stage_since=at), **{"from": "lead", "to": "mql"})
    if rng.random() >= 0.4:
        return
    owner, team = OWNERS[i % len(OWNERS)]
    sql = mql + timedelta(days=rng.randint(1, 5))
    life.add(ev.STAGE_CHANGED, sql, life.but(stage_since=mql), **{"from": "mql", "to": "sql"})
    sales = life.but(owner=owner, team=team)
    minutes = rng.randint(2, 300)
    life.add(ev.LEAD_ASSIGNED, sql, sales, owner=owner, team=team)
    life.add(
        ev.LEAD_ACCEPTED,
        sql + timedelta(minutes=minutes),
        sales,
        owner=owner,
        minutes_to_accept=minutes,
    )
    if rng.random() < 0.35:
        deal = life.but(
            owner=owner,
            team=team,
            touches=(Touch(at, campaign, channel, lead=True),),
            opportunity_at=sql,
        )
        amount, currency = rng.choice([1200, 4800, 9600]), rng.choice(["USD", "USD", "CNY"])
        life.add(
            ev.DEAL_WON,
            sql + timedelta(days=rng.randint(3, 20)),
            deal,
            amount=amount,
            currency=currency,
        )


def populate(prefix: str, n: int) -> tuple[bootstrap.Services, int, float]:
    settings = bench_settings(LEADFLOW_TABLE_PREFIX=prefix, AWS_REGION="us-east-1")
    svc = bootstrap.build(settings, FakeClock(END))
    tables.create_all()
    content = catalog.load(ROOT / "marketing", ROOT / "templates")
    content.raise_for_problems()
    publisher.publish(content, svc.content)
    began = time.perf_counter()
    items = simulate(n).write()
    return svc, items, time.perf_counter() - began


def pages_of(svc: bootstrap.Services) -> list[tuple[Page, Callable[[], Any]]]:
    period = Period(date(2026, 11, 1), END.date())
    return [
        (Page("overview", Sample("overview"), []), lambda: svc.reports.overview(period)),
        (
            Page("campaign page", Sample("campaign"), []),
            lambda: svc.reports.campaign(period, "playbook-2026"),
        ),
    ]


def measure(sets: list[bootstrap.Services], meter: Meter, runs: int) -> list[list[Page]]:
    """Each page of each set, by turns (small, large, small, ...), so that whatever else the
    machine does falls on both alike; the first round warms the caches (published content)."""
    measured = [pages_of(svc) for svc in sets]
    for round_ in range(runs + 1):
        for svc, pages in zip(sets, measured, strict=True):
            tables.bind(svc.settings)
            for page, call in pages:
                with meter.measuring():
                    page.sample.time(call)
                if round_ == 0:  # warming up: not kept
                    page.sample.wall.pop()
                    page.sample.cpu.pop()
                    continue
                page.items.append(meter.items)
                page.scans += meter.calls["Scan"]
    return [[page for page, _ in pages] for pages in measured]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    meter = Meter()
    engine = emulator.start()
    try:
        small, small_items, small_s = populate("bench-rep-small-", args.small)
        print(
            f"counted N={args.small:,}: {small_items:,} counter items in {small_s:.1f} s",
            flush=True,
        )
        large, large_items, large_s = populate("bench-rep-large-", args.large)
        print(
            f"counted N={args.large:,}: {large_items:,} counter items in {large_s:.1f} s",
            flush=True,
        )
        tables.connection().client.meta.events.register("after-call.dynamodb", meter.dynamodb)
        at_small, at_large = measure([small, large], meter, args.runs)
    finally:
        engine.kill()
    print()
    heads = (f"N={args.small:,}", f"N={args.large:,}", "ratio")
    print(f"{f'median of {args.runs} runs':28}{heads[0]:>16}{heads[1]:>16}{heads[2]:>8}")
    checks = []
    for a, b in zip(at_small, at_large, strict=True):
        ms_a, ms_b = a.sample.percentile_ms(50), b.sample.percentile_ms(50)
        items_a, items_b = max(a.items), max(b.items)
        ratio = ms_b / ms_a if ms_a else 0.0
        print(f"{a.label + ' ms':28}{ms_a:>16.1f}{ms_b:>16.1f}{ratio:>8.2f}")
        grew = items_b / max(items_a, 1)
        print(f"{a.label + ' items read':28}{items_a:>16,}{items_b:>16,}{grew:>8.2f}")
        checks.append(
            (
                ratio <= RATIO_TARGET,
                f"{a.label}: time at N={args.large:,} / N={args.small:,} = {ratio:.2f}"
                f" <= {RATIO_TARGET}",
            )
        )
        checks.append(
            (
                items_b <= items_a * RATIO_TARGET,
                f"{a.label}: items read {items_a:,} and {items_b:,}, ratio <= {RATIO_TARGET}",
            )
        )
    overview_ms = at_large[0].sample.percentile_ms(50)
    checks.append(
        (
            overview_ms <= OVERVIEW_MS,
            f"overview at N={args.large:,}: {overview_ms:.0f} ms <= {OVERVIEW_MS:.0f} ms",
        )
    )
    checks.append((all(p.scans == 0 for p in (*at_small, *at_large)), "no Scan"))
    print()
    for ok, what in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {what}")
    return 0 if all(ok for ok, _ in checks) else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000, help="N of the small set (10000)")
    parser.add_argument("--large", type=int, default=100_000, help="N of the large set (100000)")
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each page (9)")
    parser.add_argument(
        "--quick", action="store_true", help="a small run that only checks the bench works"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args = parser.parse_args([*QUICK, *(argv or [])])
    return args


if __name__ == "__main__":
    sys.exit(main())
