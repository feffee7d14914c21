"""`make bench`: what keeping 20 segments current costs for one event, among N contacts; and
a broadcast to all N.

One run, on the embedded AWS the stack runs on: 20 segments (event windows, inactivity,
consent, fields, segments of segments, a list) published over N = 1,000 and N = 100,000
contacts; then an email click for each of M contacts, each handed to the segmenter as the
pipeline does. Per event: the time, the DynamoDB items read and the calls, from DynamoDB's
answers. Incremental means the same cost at both sizes and no Scan.

Then the large set is put on a list and a broadcast to it is scheduled now: the seconds the
tick's broadcast run takes to plan every contact and hand the first of its emails to the
sends queue (it keeps at most LEADFLOW_BROADCAST_BACKLOG there, 2,000, topping up at each
tick), and the emails a second the sender then sends while the tick tops the queue up (over
the first --sends of them, by as many consumers as the stack's queue worker runs; target 200
a second).

    .venv/bin/python bench/segments.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.backend import bench_settings  # noqa: E402
from bench.tick import Meter  # noqa: E402
from bench.timing import Sample  # noqa: E402
from chalicelib import bootstrap, ids  # noqa: E402
from chalicelib.clock import FakeClock, SystemClock  # noqa: E402
from chalicelib.content import catalog  # noqa: E402
from chalicelib.events import EMAIL_CLICKED, Event  # noqa: E402
from chalicelib.local import emulator  # noqa: E402
from chalicelib.messaging.ratelimit import RateLimiter  # noqa: E402
from chalicelib.services import publisher  # noqa: E402
from chalicelib.store import tables  # noqa: E402
from chalicelib.store.models import ContactModel  # noqa: E402

RATIO_TARGET = 1.3
QUICK = ["--small", "200", "--large", "2000", "--events", "10", "--sends", "100"]
SENDS_TARGET = 200.0
BROADCAST = """name: Bench newsletter
audience: {segment: vip-list}
email: {template: webinar-invite, subject: "News for {{ contact.email }}"}
send_at: 2026-01-05T09:00
"""
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SEGMENTS = {
    "clicked-30d": "when: {event: email_clicked, within: 30d}",
    "opened-twice-7d": "when: {event: email_opened, within: 7d, min_count: 2}",
    "pricing-14d": "when: {event: page_viewed, where: {url: /pricing}, within: 14d}",
    "quiet-90d": "when: {inactive_for: 90d}",
    "quiet-30d": "when: {inactive_for: 30d}",
    "consented": "when: {consent: marketing}",
    "mql": "when: {stage_reached: mql}",
    "high-score": "when: {field: score, gte: 50}",
    "cn-de": "when: {field: country, in: [CN, DE]}",
    "vip-tag": "when: {tag: vip}",
    "from-email": "when: {field: first_touch.channel, equals: email}",
    "new-this-week": "when: {event: form_submitted, first: true, within: 7d}",
    "clicked-and-consented": "when: {all: [{segment: clicked-30d}, {segment: consented}]}",
    "warm": "when: {any: [{segment: pricing-14d}, {segment: new-this-week}]}",
    "awake": "when: {not: {segment: quiet-90d}}",
    "playbook-twice": (
        "when: {event: form_submitted, where: {form_id: whitepaper}, min_count: 2, within: 30d}"
    ),
    "our-domain": "when: {field: email_domain, equals: example.com}",
    "vip-list": "static: true",
    "mql-readers": "when: {all: [{stage_reached: mql}, {segment: opened-twice-7d}]}",
    "customers": "when: {event: deal_won}",
}


@dataclass
class Population:
    n: int
    svc: bootstrap.Services
    seconds: float = 0.0
    sample: Sample = field(default_factory=lambda: Sample("event"))
    items: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    scans: int = 0
    clicked: int = 0  # members of clicked-30d afterwards


@dataclass
class BroadcastRun:
    listed: float = 0.0  # seconds to put everyone on the list (set-up)
    enqueue: float = 0.0
    planned: int = 0
    wanted: int = 0
    sent: int = 0
    seconds: float = 0.0
    consumers: int = 0


def populate(prefix: str, n: int) -> Population:
    """N contacts by batch writes, and the 20 segments published over them."""
    settings = bench_settings(
        LEADFLOW_TABLE_PREFIX=prefix,
        AWS_REGION="us-east-1",
        LEADFLOW_MAX_SEND_RATE="100000",  # SES's quota is not what is measured
    )
    svc = bootstrap.build(settings, FakeClock(NOW))
    tables.create_all()
    svc.queues.create_all()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "marketing" / "segments"
        folder.mkdir(parents=True)
        for name, body in SEGMENTS.items():
            (folder / f"{name}.yaml").write_text(f"name: {name}\n{body}\n")
        (folder.parent / "broadcasts").mkdir()
        (folder.parent / "broadcasts" / "bench-news.yaml").write_text(BROADCAST)
        content = catalog.load(folder.parent, ROOT / "templates")
        content.raise_for_problems()
        publisher.publish(content, svc.content)
    pop = Population(n, svc)
    start = time.perf_counter()
    gc.disable()  # set-up only
    try:
        with ContactModel.batch_write() as batch:
            for i in range(n):
                batch.save(
                    ContactModel(
                        id=contact_id(i),
                        version=1,
                        email=f"c{i}@example.com",
                        created_at=NOW,
                        updated_at=NOW,
                        created_by_event=ids.event_id(NOW),
                        properties={"country": ("CN", "DE", "US")[i % 3]},
                    )
                )
    finally:
        gc.enable()
    pop.seconds = time.perf_counter() - start
    return pop


def contact_id(i: int) -> str:
    return f"ct_{i:032x}"


def click(pop: Population, meter: Meter, i: int) -> None:
    """One email click for contact i, appended and handed to the segmenter, as the pipeline
    does; only the segmenter's work is measured."""
    tables.bind(pop.svc.settings)
    at = pop.svc.clock.now()
    event = Event(contact_id(i), ids.event_id(at), EMAIL_CLICKED, at, "email", {"url": "/x"})
    pop.svc.events.append(event)
    with meter.measuring():
        pop.sample.time(lambda: pop.svc.segmenter.on_event(event, None))
    pop.items.append(meter.items)
    pop.calls.append(meter.dynamodb_calls())
    pop.scans += meter.calls["Scan"]


def broadcast(pop: Population, sends: int) -> BroadcastRun:
    """Everyone on vip-list, a broadcast to it scheduled now; its run timed, then the sender."""
    from chalicelib.local.drivers import CONSUMERS
    from chalicelib.messaging.queues import SENDS
    from chalicelib.store.models import SegmentMemberModel

    tables.bind(pop.svc.settings)
    run = BroadcastRun(consumers=CONSUMERS[SENDS])
    start = time.perf_counter()
    with SegmentMemberModel.batch_write() as batch:
        for i in range(pop.n):
            batch.save(SegmentMemberModel("vip-list", contact_id(i), entered_at=NOW))
    run.listed = time.perf_counter() - start
    pop.svc.ses.verify_domain("example.com")  # the emulator, like SES, wants a known sender
    pop.svc.broadcasts.schedule("bench-news", "now")
    start = time.perf_counter()
    done = pop.svc.broadcaster.run_due(budget_seconds=float("inf"))
    run.enqueue = time.perf_counter() - start
    run.planned = done.planned
    # The rate limiter paces real time: on the fake clock the set-up needs, it would wait for
    # a clock that never moves.
    pop.svc.sender.limiter = RateLimiter(pop.svc.settings.max_send_rate, SystemClock(), time.sleep)
    run.wanted = min(sends, run.planned)
    run.sent, run.seconds = _send(pop.svc, run.wanted, run.consumers)
    return run


def _send(svc: bootstrap.Services, wanted: int, consumers: int) -> tuple[int, float]:
    """The sender's loop (a queue batch at a time, as the stack's worker runs it), `consumers`
    at once, until `wanted` emails are sent."""
    import json
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.local import queue_driver
    from chalicelib.messaging.queues import SENDS

    sent = 0
    lock = threading.Lock()

    def handle(records: list[dict]) -> dict:
        nonlocal sent
        outcomes = svc.sender.deliver_many([json.loads(r["body"]) for r in records])
        with lock:
            sent += outcomes.count("sent")
        return {"batchItemFailures": []}

    def consume(_: int) -> None:
        while sent < wanted:
            if not queue_driver.drain_once(svc.queues, SENDS, handle):
                time.sleep(0.05)

    def tick() -> None:  # the stack's tick, which tops the queue up
        while sent < wanted:
            svc.broadcaster.run_due()
            time.sleep(0.5)

    start = time.perf_counter()
    with ThreadPoolExecutor(consumers + 1) as pool:
        list(pool.map(lambda n: tick() if n == consumers else consume(n), range(consumers + 1)))
    return sent, time.perf_counter() - start


def report(
    args: argparse.Namespace, small: Population, large: Population, run: BroadcastRun
) -> int:
    def median_ms(pop: Population) -> float:
        return 1000 * statistics.median(pop.sample.wall)

    ratio = median_ms(large) / median_ms(small)
    items = (statistics.median(small.items), statistics.median(large.items))
    sizes = (small.clicked, large.clicked)
    print()
    print(f"segments: {len(SEGMENTS)} published; one email click for each of {args.events}")
    print(f"{'':30}{'N=' + format(small.n, ','):>14}{'N=' + format(large.n, ','):>14}")
    print(f"{'ms per event (median)':30}{median_ms(small):>14.1f}{median_ms(large):>14.1f}")
    print(f"{'DynamoDB items read per event':30}{items[0]:>14.0f}{items[1]:>14.0f}")
    calls = (statistics.median(small.calls), statistics.median(large.calls))
    print(f"{'DynamoDB calls per event':30}{calls[0]:>14.0f}{calls[1]:>14.0f}")
    print(f"{'Scans':30}{small.scans:>14}{large.scans:>14}")
    print(f"{'clicked-30d members after':30}{sizes[0]:>14}{sizes[1]:>14}")
    print()
    rate = run.sent / run.seconds if run.seconds else 0.0
    print(f"broadcast to all {large.n:,} (listed in {run.listed:.1f} s)")
    print(
        f"  planned and the first emails queued in {run.enqueue:.1f} s "
        f"({large.n / run.enqueue:,.0f} contacts a second)"
    )
    print(
        f"  sent {run.sent:,} in {run.seconds:.1f} s by {run.consumers} consumers: "
        f"{rate:.0f} emails a second"
    )
    print()
    checks = [
        (
            ratio <= RATIO_TARGET,
            f"time per event N={large.n:,} / N={small.n:,} = {ratio:.2f} <= {RATIO_TARGET}",
        ),
        (
            items[0] == items[1],
            f"items read per event do not grow with contacts ({items[0]:.0f} and {items[1]:.0f})",
        ),
        (small.scans == large.scans == 0, "no Scan"),
        (
            sizes == (args.events, args.events),
            f"every click entered clicked-30d ({sizes[0]} and {sizes[1]} of {args.events})",
        ),
        (run.planned == large.n, f"the broadcast planned {run.planned:,} of {large.n:,} emails"),
        (run.sent >= run.wanted, f"the sender sent the first {run.wanted:,} of them"),
        (
            rate >= SENDS_TARGET,
            f"the broadcast sent {rate:.0f} emails a second >= {SENDS_TARGET:.0f}",
        ),
    ]
    for ok, what in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {what}")
    print(f"(populated in {small.seconds:.1f} s and {large.seconds:.1f} s)")
    return 0 if all(ok for ok, _ in checks) else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000, help="N of the small set (1000)")
    parser.add_argument("--large", type=int, default=100_000, help="N of the large set (100000)")
    parser.add_argument("--events", type=int, default=50, help="clicks timed per set (50)")
    parser.add_argument(
        "--sends", type=int, default=2000, help="broadcast emails whose sending is timed (2000)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small run that only checks the bench works"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args = parser.parse_args([*QUICK, *(argv or [])])
    if not 1 <= args.events <= args.small <= args.large:
        parser.error("need 1 <= --events <= --small <= --large")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    meter = Meter()
    engine = emulator.start()
    try:
        small = populate("bench-seg-small-", args.small)
        print(f"populated N={args.small:,} in {small.seconds:.1f} s", flush=True)
        large = populate("bench-seg-large-", args.large)
        print(f"populated N={args.large:,} in {large.seconds:.1f} s", flush=True)
        tables.connection().client.meta.events.register("after-call.dynamodb", meter.dynamodb)
        step = max(1, args.small // args.events)
        for k in range(args.events):  # the same contacts in each set, by turns
            for pop in (small, large):
                click(pop, meter, k * step)
        for pop in (small, large):
            tables.bind(pop.svc.settings)
            pop.clicked = pop.svc.members.size("clicked-30d")
        run = broadcast(large, args.sends)
    finally:
        engine.kill()
    return report(args, small, large, run)


if __name__ == "__main__":
    sys.exit(main())
