"""`make bench`: what a tick costs with D due among N enrollments in all.

One run, on the embedded AWS the stack runs on (ministack, a process of its own): the same
D = 1,000 due enrollments among N = 1,000 and among N = 100,000, the tick timed in fan-out
mode and the DynamoDB items it reads counted from DynamoDB's answers; then the fan-out worker
advances the due enrollments of the small set. bench/README.md says how to read the numbers.

    .venv/bin/python bench/tick.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.timing import Sample  # noqa: E402
from chalicelib import bootstrap, ids  # noqa: E402
from chalicelib.clock import FakeClock  # noqa: E402
from chalicelib.config import Settings  # noqa: E402
from chalicelib.content import catalog  # noqa: E402
from chalicelib.events import Event  # noqa: E402
from chalicelib.journeys.engine import Engine, SendHistory  # noqa: E402
from chalicelib.journeys.machine import CompiledJourney  # noqa: E402
from chalicelib.local import emulator  # noqa: E402
from chalicelib.messaging.queues import ADVANCE  # noqa: E402
from chalicelib.services import publisher  # noqa: E402
from chalicelib.services.journey_runner import ADVANCE_BATCH  # noqa: E402
from chalicelib.store import tables  # noqa: E402
from chalicelib.store.enrollments import to_model  # noqa: E402
from chalicelib.store.models import EnrollmentModel  # noqa: E402

ITEMS_FACTOR, ITEMS_SLACK = 1.05, 10
RATIO_TARGET = 1.3
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday morning
JOURNEY_ID = "bench-drip"
WAIT = timedelta(days=7)
# A drip as marketers write them: a week's pause, a capped marketing email, then a wait for a
# click with no timeout (so those enrollments have no due time and stay out of the index).
JOURNEY = """
name: Bench drip
trigger: {event: bench_signup}
frequency_cap: {max: 2, per: 1d}
steps:
  - id: pause
    wait: 7d
  - id: nudge
    send_email: {template: bench-nudge, subject: "Did you see this?"}
  - id: clicked
    wait_for: {event: email_clicked, where: {step: nudge}}
  - id: follow-up
    send_email: {template: bench-follow-up, subject: Glad you liked it}
"""


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Meter:
    """What a measured stretch cost: DynamoDB items and calls, SQS calls.

    Items and calls come from botocore's after-call events on the shared clients, so set-up
    (populating, purging) is not counted: the meter is only on while the stretch runs.
    """

    on: bool = False
    items: int = 0
    scanned: int = 0
    calls: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.items, self.scanned = 0, 0
        self.calls.clear()

    @contextmanager
    def measuring(self) -> Iterator[None]:
        self.reset()
        self.on = True
        try:
            yield
        finally:
            self.on = False

    def dynamodb(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.on:
            return
        self.calls[model.name] += 1
        if model.name in ("Query", "Scan"):
            self.items += parsed.get("Count", 0)
            self.scanned += parsed.get("ScannedCount", 0)
        elif model.name == "GetItem":
            self.items += 1 if parsed.get("Item") else 0
        elif model.name == "BatchGetItem":
            self.items += sum(len(rows) for rows in parsed.get("Responses", {}).values())

    def sqs(self, model: Any, **_: Any) -> None:
        if self.on:
            self.calls[f"sqs:{model.name}"] += 1

    def dynamodb_calls(self) -> int:
        return sum(n for op, n in self.calls.items() if not op.startswith("sqs:"))

    def sqs_calls(self) -> int:
        return sum(n for op, n in self.calls.items() if op.startswith("sqs:"))


# --- the data --------------------------------------------------------------------------------


class NoFacts:
    """Facts for generating rows: a contact with no profile and no sends yet."""

    def contact(self) -> dict[str, Any]:
        return {}

    def sends(self) -> SendHistory:
        return SendHistory()

    def events(self, since: datetime | None) -> list[Event]:
        return []


@dataclass
class Population:
    """One set of tables (its own prefix and queues) holding N enrollments, D of them due."""

    n: int
    due: int
    svc: bootstrap.Services
    journey: CompiledJourney
    seconds: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)

    def bind(self) -> None:
        """Point the models at this set's tables (bootstrap.build binds the last one built)."""
        tables.bind(self.svc.settings)


def services(prefix: str) -> tuple[bootstrap.Services, CompiledJourney]:
    """Tables, queues and the bench journey published under `prefix`."""
    settings = Settings.from_env(
        {"LEADFLOW_STAGE": "bench", "LEADFLOW_TABLE_PREFIX": prefix, "AWS_REGION": "us-east-1"}
    )
    svc = bootstrap.build(settings, FakeClock(NOW))
    tables.create_all()
    svc.queues.create_all()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "marketing"
        (folder / "journeys").mkdir(parents=True)
        (folder / "journeys" / f"{JOURNEY_ID}.yaml").write_text(JOURNEY)
        templates = Path(temp) / "templates"
        shutil.copytree(ROOT / "templates", templates)
        for name in ("bench-nudge", "bench-follow-up"):
            (templates / f"{name}.mjml").write_text(
                (ROOT / "templates" / "nurture-checklist.mjml").read_text()
            )
        content = catalog.load(folder)
        content.raise_for_problems()
        publisher.publish(content, svc.content)
    journey = next(j for j in svc.journeys.library.live() if j.id == JOURNEY_ID)
    return svc, journey


def enrollment_row(journey: CompiledJourney, i: int, kind: str, shards: int) -> EnrollmentModel:
    """Row i exactly as the engine would have committed it, with its clock set back.

    due: entered over a week ago, so its 7-day pause is over (due within the last day).
    later: entered within the week, so the pause runs on (due later, still in the index).
    waiting: entered two weeks ago, sent the nudge a week ago, now waits for a click with no
    timeout (no due time: the sparse index does not hold it).
    """
    step = timedelta(seconds=(i * 7919) % 86_000 + 60)
    entered = {
        "due": NOW - WAIT - step,
        "later": NOW - WAIT + step,
        "waiting": NOW - 2 * WAIT - step,
    }[kind]
    contact = f"ct_bench{i:08d}"
    cause = Event(
        contact, ids.event_id(entered, i.to_bytes(10, "big")), "bench_signup", entered, "bench"
    )
    out = Engine(FakeClock(entered)).enter(journey, cause, NoFacts())
    written_at = entered
    if kind == "waiting":
        written_at = out.enrollment.due_at
        e = out.enrollment
        e.revision = out.read_revision + 1
        out = Engine(FakeClock(written_at)).advance(journey, e, NoFacts())
        assert out is not None and out.enrollment.waiting and out.enrollment.due_at is None
    assert (out.enrollment.due_at is not None and out.enrollment.due_at <= NOW) == (kind == "due")
    return to_model(out.enrollment, out.read_revision + 1, written_at, shards)


def populate(prefix: str, n: int, due: int) -> Population:
    """N enrollments by PynamoDB batch writes: D due now, then later-due and waiting by turns."""
    svc, journey = services(prefix)
    pop = Population(n, due, svc, journey)
    start = time.perf_counter()
    gc.disable()  # set-up only: the heap grows by millions of objects the collector would re-walk
    try:
        with EnrollmentModel.batch_write() as batch:
            for i in range(n):
                kind = "due" if i < due else ("later" if i % 2 else "waiting")
                pop.kinds[kind] += 1
                batch.save(enrollment_row(journey, i, kind, svc.settings.due_shards))
    finally:
        gc.enable()
    pop.seconds = time.perf_counter() - start
    return pop


def purge(svc: bootstrap.Services) -> None:
    """Empty the journey-advance queue between runs (set-up, not measured).

    Not PurgeQueue: SQS allows one every 60 seconds.
    """
    while messages := svc.queues.receive(ADVANCE):
        for message in messages:
            svc.queues.delete(ADVANCE, message)


# --- the runs --------------------------------------------------------------------------------


@dataclass
class TickRuns:
    """The timed ticks over one population, each with what the meter saw during it."""

    pop: Population
    tick: Sample = field(default_factory=lambda: Sample("tick"))
    items: list[int] = field(default_factory=list)
    scanned: list[int] = field(default_factory=list)
    dynamodb_calls: int = 0
    sqs_calls: int = 0
    fanned_out: int = 0
    messages: int = 0

    @property
    def wall(self) -> list[float]:
        return self.tick.wall


def tick_once(pop: Population, meter: Meter, runs: TickRuns) -> None:
    pop.bind()
    purge(pop.svc)
    runner = pop.svc.journeys
    runner.inline_limit = min(runner.inline_limit, pop.due - 1)  # fan out, as a big tick does
    with meter.measuring():
        report = runs.tick.time(runner.tick)
    if report.fanned_out != pop.due or report.advanced:
        raise RuntimeError(f"N={pop.n}: expected {pop.due} fanned out, got {report}")
    runs.items.append(meter.items)
    runs.scanned.append(meter.scanned)
    runs.dynamodb_calls, runs.sqs_calls = meter.dynamodb_calls(), meter.sqs_calls()
    runs.fanned_out, runs.messages = report.fanned_out, report.messages


@dataclass
class Advances:
    """The fan-out worker's run over the tick's refs, and what the meter saw during it."""

    given: int = 0
    advanced: int = 0
    failed: int = 0
    wall: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    items: int = 0

    def dynamodb_calls(self) -> int:
        return sum(n for op, n in self.calls.items() if not op.startswith("sqs:"))


def advance_all(pop: Population, meter: Meter, limit: int) -> Advances:
    """The fan-out worker on the tick's messages, as its Lambda runs them, up to `limit`."""
    pop.bind()
    purge(pop.svc)
    runner = pop.svc.journeys
    runner.inline_limit = min(runner.inline_limit, pop.due - 1)
    runner.tick()
    refs: list[dict[str, str]] = []
    while messages := pop.svc.queues.receive(ADVANCE):
        for message in messages:
            refs.extend(message.body["enrollments"])
            pop.svc.queues.delete(ADVANCE, message)
    refs = refs[:limit]
    result = Advances(given=len(refs))
    batches = [refs[i : i + ADVANCE_BATCH] for i in range(0, len(refs), ADVANCE_BATCH)]
    with meter.measuring():
        start = time.perf_counter()
        for batch in batches:  # one message's refs, as the worker Lambda gets them
            report = runner.advance_refs(batch)
            result.advanced += report.advanced
            result.failed += report.failed
        result.wall = time.perf_counter() - start
    result.calls, result.items = Counter(meter.calls), meter.items
    return result


# --- the report ------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(args: argparse.Namespace, small: TickRuns, large: TickRuns, adv: Advances) -> int:
    print(
        f"\nLeadflow tick bench: Python {platform.python_version()}, the embedded AWS "
        f"(ministack) in a process of its own\nD = {args.due:,} due; the tick in fan-out mode; "
        f"{args.runs} runs per N, alternating, best shown (median in brackets)\n"
    )
    for runs in (small, large):
        pop = runs.pop
        print(
            f"  N={pop.n:>7,}: populated in {pop.seconds:6.1f} s by BatchWriteItem "
            f"({pop.kinds['due']:,} due, {pop.kinds['later']:,} due later, "
            f"{pop.kinds['waiting']:,} waiting for an event)"
        )
    heads = ("tick ms", "items read", "calls")
    print(f"\n{'N enrollments':>14}" + "".join(f"{h:>18}" for h in heads))
    for runs in (small, large):
        tick = f"{1000 * min(runs.wall):.1f} ({1000 * statistics.median(runs.wall):.0f})"
        items = f"{max(runs.items):,}"
        calls = f"{runs.dynamodb_calls} + {runs.sqs_calls} SQS"
        print(f"{runs.pop.n:>14,}" + "".join(f"{c:>18}" for c in (tick, items, calls)))
    print(
        f"  calls: DynamoDB Query pages + SQS SendMessageBatch; each tick fanned out "
        f"{large.fanned_out:,} refs in {large.messages} message batch(es)\n"
        f"  items read: DynamoDB's Count summed over the tick's Query pages (ScannedCount "
        f"{max(small.scanned):,} and {max(large.scanned):,}: no filter expression)"
    )

    raw = min(large.wall) / min(small.wall)
    print(f"\ntime ratio N={large.pop.n:,} / N={small.pop.n:,} (best run over best run): {raw:.2f}")

    rate = adv.advanced / adv.wall if adv.wall else 0.0
    per = max(adv.advanced, 1)
    ops = ", ".join(f"{op} {n / per:.2f}" for op, n in sorted(adv.calls.items()))
    print(
        f"\nenrollment advances (fan-out worker, advance_refs, N={small.pop.n:,}): "
        f"{adv.advanced:,} advanced, {adv.failed} failed, in {adv.wall:.1f} s\n"
        f"  advances per second                  {rate:8.1f}"
        f"   ({1000 * adv.wall / per:.1f} ms per advance, one at a time)\n"
        f"  DynamoDB calls per advance {adv.dynamodb_calls() / per:.2f}: {ops}; "
        f"items read per advance {adv.items / per:.2f}"
    )

    limit = args.due * ITEMS_FACTOR + ITEMS_SLACK
    worst = max(max(small.items), max(large.items))
    checks = [
        (
            f"items read <= D x {ITEMS_FACTOR} + {ITEMS_SLACK} = {limit:,.0f} "
            f"(read {max(small.items):,} and {max(large.items):,})",
            worst <= limit,
        ),
        (f"time ratio <= {RATIO_TARGET} ({raw:.2f})", raw <= RATIO_TARGET),
        (
            f"the worker advanced every enrollment it was given ({adv.advanced:,} of "
            f"{adv.given:,}, {adv.failed} failed)",
            adv.advanced == adv.given == min(args.advances, args.due) and not adv.failed,
        ),
    ]
    print("\nTargets")
    for text, ok in checks:
        print(f"  {verdict(ok)}  {text}")
    return 0 if all(ok for _, ok in checks) else 1


# --- main ------------------------------------------------------------------------------------


QUICK = ["--due", "40", "--small", "80", "--large", "800", "--runs", "2", "--advances", "20"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=1000, help="D, due enrollments (1000)")
    parser.add_argument("--small", type=int, default=1000, help="N of the small set (1000)")
    parser.add_argument("--large", type=int, default=100_000, help="N of the large set (100000)")
    parser.add_argument("--runs", type=int, default=5, help="timed ticks per N (5)")
    parser.add_argument(
        "--advances", type=int, default=500, help="due enrollments the worker advances (500)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small run that only checks the bench works"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args = parser.parse_args([*QUICK, *(argv or [])])
    if not 1 < args.due <= args.small <= args.large or args.runs < 1 or args.advances < 1:
        parser.error("need 1 < --due <= --small <= --large, --runs >= 1 and --advances >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    meter = Meter()
    engine = emulator.start()
    try:
        small = populate("bench-small-", args.small, args.due)
        print(f"populated N={args.small:,} in {small.seconds:.1f} s", flush=True)
        # One botocore client per endpoint serves every table; one SQS client per Services.
        # The meter counts only while a measured stretch runs, never the populating.
        tables.connection().client.meta.events.register("after-call.dynamodb", meter.dynamodb)
        large = populate("bench-large-", args.large, args.due)
        print(f"populated N={args.large:,} in {large.seconds:.1f} s", flush=True)
        for pop in (small, large):
            pop.svc.queues.client.meta.events.register("after-call.sqs", meter.sqs)
        runs = (TickRuns(small), TickRuns(large))
        tick_once(small, meter, TickRuns(small))  # warm-up: first-call costs are not timed
        for _ in range(args.runs):
            for each in runs:
                tick_once(each.pop, meter, each)
        print("ticks timed; advancing", flush=True)
        adv = advance_all(small, meter, args.advances)
    finally:
        engine.kill()
    return report(args, runs[0], runs[1], adv)


if __name__ == "__main__":
    sys.exit(main())
