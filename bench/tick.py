"""How a tick scales: the same 1,000 due enrollments among 1,000 and among 100,000 in all.

    python bench/tick.py [--due 1000] [--small 1000] [--large 100000] [--runs 3]

One process, moto in memory. The tick runs in fan-out mode (it queries the sparse `due` index
and puts the due keys on the journey-advance queue); items read are counted from DynamoDB's
answers. Advances per second come from the fan-out worker on the small table.

moto walks every item of a table on each Query (Table.query iterates all_items()), so on moto
a query's time grows with the table though it does not on DynamoDB. Time spent inside the
emulator is measured (by timing moto's request dispatch) and the time ratio is printed raw and
for our side alone (client, botocore, PynamoDB and our code). Items read are DynamoDB's Count
per query page: with no filter expression that is what DynamoDB reads and bills (moto's own
ScannedCount counts the items it walked, which DynamoDB would not read).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

JOURNEY = """
name: Bench drip
trigger: {event: bench_signup}
steps:
  - id: pause
    wait: 1d
  - id: nudge
    send_email: {template: nudge, subject: A nudge}
  - id: pause-again
    wait: 2d
  - id: last
    send_email: {template: last, subject: The last one}
"""
ITEMS_TARGET = (1.05, 10)
RATIO_TARGET = 1.3
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Meter:
    """Counts DynamoDB items read and calls, and time spent inside the emulator."""

    items: int = 0
    calls: int = 0
    emulator_seconds: float = 0.0
    on: bool = False

    def reset(self) -> None:
        self.items, self.calls, self.emulator_seconds = 0, 0, 0.0

    def after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.on:
            return
        self.calls += 1
        if model.name in ("Query", "Scan"):
            self.items += parsed.get("Count", 0)
        elif model.name == "GetItem":
            self.items += 1 if parsed.get("Item") else 0
        elif model.name == "BatchGetItem":
            self.items += sum(len(v) for v in parsed.get("Responses", {}).values())


@dataclass
class TickRun:
    n: int
    seconds: list[float] = field(default_factory=list)
    emulator_seconds: list[float] = field(default_factory=list)
    items: int = 0
    calls: int = 0
    fanned_out: int = 0

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def best_ours(self) -> float:
        return min(s - e for s, e in zip(self.seconds, self.emulator_seconds, strict=True))


def _time_the_emulator(meter: Meter) -> None:
    """Instrumentation only: time every request moto serves (DynamoDB and SQS alike)."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            if meter.on:
                meter.emulator_seconds += time.perf_counter() - start

    BotocoreStubber.process_request = timed  # type: ignore[method-assign]


def _services(prefix: str) -> Any:
    from chalicelib import bootstrap
    from chalicelib.clock import FakeClock
    from chalicelib.config import Settings
    from chalicelib.content import catalog, publisher
    from chalicelib.store import tables

    settings = Settings.from_env({"LEADFLOW_TABLE_PREFIX": prefix, "AWS_REGION": "us-east-1"})
    svc = bootstrap.build(settings, FakeClock(NOW))
    tables.create_all()
    svc.queues.create_all()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "journeys").mkdir()
        (root / "journeys" / "drip.yaml").write_text(JOURNEY)
        content = catalog.load(root)
        content.raise_for_problems()
        publisher.publish(content, svc.content)
    return svc


def _populate(svc: Any, n: int, due: int) -> float:
    """N enrollments of the drip: `due` due now, half the rest due later, half waiting."""
    from chalicelib.journeys.enrollment import Enrollment, Phase
    from chalicelib.store.enrollments import to_model
    from chalicelib.store.models import EnrollmentModel

    rng = random.Random(n)
    shards = svc.settings.due_shards
    start = time.perf_counter()
    with EnrollmentModel.batch_write() as batch:
        for i in range(n):
            if i < due:
                due_at, waiting = NOW - timedelta(minutes=rng.randint(1, 59)), None
            elif i % 2:
                due_at, waiting = NOW + timedelta(minutes=rng.randint(60, 60 * 24 * 90)), None
            else:
                due_at, waiting = None, {"event": ["email_clicked"], "where": {}, "since": ""}
            enrollment = Enrollment(
                contact_id=f"ct_bench{i:07d}",
                key=f"drip#{i:026d}",
                journey_id="drip",
                journey_version=1,
                state="pause",
                entered_at=NOW - timedelta(days=1),
                timezone="UTC",
                revision=1,
                phase=Phase.PARKED,
                due_at=due_at,
                waiting=waiting,
                visits={"pause": 1},
            )
            batch.save(to_model(enrollment, 1, NOW, shards))
    return time.perf_counter() - start


def _purge(svc: Any) -> None:
    from chalicelib.messaging.queues import ADVANCE

    while messages := svc.queues.receive(ADVANCE):
        for message in messages:
            svc.queues.delete(ADVANCE, message)


def _measure_tick(svc: Any, meter: Meter, n: int, runs: int) -> TickRun:
    svc.journeys.inline_limit = 0  # always fan out: the tick's own work is what we measure
    result = TickRun(n)
    for _ in range(runs):
        _purge(svc)
        meter.reset()
        meter.on = True
        start = time.perf_counter()
        report = svc.journeys.tick()
        elapsed = time.perf_counter() - start
        meter.on = False
        result.seconds.append(elapsed)
        result.emulator_seconds.append(meter.emulator_seconds)
        result.items, result.calls, result.fanned_out = meter.items, meter.calls, report.fanned_out
    return result


def _measure_advances(svc: Any, meter: Meter, limit: int) -> tuple[float, float, float, int]:
    """Run the fan-out worker over the first `limit` due enrollments' messages.

    Returns advances/s, advances/s on our side alone, DynamoDB calls per advance, advanced.
    """
    from chalicelib.messaging.queues import ADVANCE

    svc.journeys.inline_limit = 0
    _purge(svc)
    svc.journeys.tick()
    advanced = 0
    meter.reset()
    meter.on = True
    start = time.perf_counter()
    while advanced < limit and (messages := svc.queues.receive(ADVANCE)):
        for message in messages:
            if advanced >= limit:
                break
            advanced += svc.journeys.advance_refs(message.body["enrollments"]).advanced
            svc.queues.delete(ADVANCE, message)
    elapsed = time.perf_counter() - start
    meter.on = False
    ours = elapsed - meter.emulator_seconds
    return advanced / elapsed, advanced / ours, meter.calls / max(advanced, 1), advanced


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--due", type=int, default=1000)
    p.add_argument("--small", type=int, default=1000)
    p.add_argument("--large", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument(
        "--advances", type=int, default=200, help="enrollments the worker advances (moto is slow)"
    )
    args = p.parse_args(argv)

    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    from chalicelib.store import tables

    meter = Meter()
    _time_the_emulator(meter)
    runs: dict[int, TickRun] = {}
    with mock_aws():
        for n, prefix in ((args.small, "bench-small-"), (args.large, "bench-large-")):
            svc = _services(prefix)
            if n == args.small:  # one botocore client serves every table: register once
                client = tables.connection().client
                client.meta.events.register("after-call.dynamodb", meter.after_call)
            took = _populate(svc, n, args.due)
            print(f"populated N={n:,} enrollments ({args.due:,} due) in {took:.1f} s", flush=True)
            runs[n] = _measure_tick(svc, meter, n, args.runs)
            if n == args.small:
                rate, our_rate, calls, advanced = _measure_advances(svc, meter, args.advances)
    return _report(args, runs, (rate, our_rate, calls, advanced))


def _report(args: argparse.Namespace, runs: dict[int, TickRun], advances: tuple) -> int:
    rate, our_rate, calls, advanced = advances
    small, large = runs[args.small], runs[args.large]
    limit = args.due * ITEMS_TARGET[0] + ITEMS_TARGET[1]
    print()
    print(f"Tick over D = {args.due:,} due enrollments (fan-out mode, best of {args.runs})")
    heads = ("tick ms", "in moto ms", "ours ms", "items read", "calls", "fanned out")
    print(f"{'N enrollments':>16}" + "".join(f"{h:>12}" for h in heads))
    for run in (small, large):
        i = run.seconds.index(run.best)
        cells = (
            f"{run.best * 1000:.1f}",
            f"{run.emulator_seconds[i] * 1000:.1f}",
            f"{run.best_ours * 1000:.1f}",
            f"{run.items:,}",
            f"{run.calls}",
            f"{run.fanned_out:,}",
        )
        print(f"{run.n:>16,}" + "".join(f"{c:>12}" for c in cells))
    raw = large.best / small.best
    ours = large.best_ours / small.best_ours
    print()
    print(
        f"time ratio N={args.large:,} / N={args.small:,}: {raw:.2f} raw on moto, "
        f"{ours:.2f} for our side alone (time inside the emulator taken out)"
    )
    print(
        f"enrollment advances per second (fan-out worker, N={args.small:,}): {rate:.1f} on moto, "
        f"{our_rate:.1f} for our side alone ({advanced:,} advanced, "
        f"{calls:.2f} DynamoDB calls each)"
    )
    print()
    ok_items = all(run.items <= limit for run in (small, large))
    verdicts = (
        (
            ok_items,
            f"items read <= D x 1.05 + 10 = {limit:,.0f} (read {small.items:,} and "
            f"{large.items:,})",
        ),
        (raw <= RATIO_TARGET, f"time ratio <= {RATIO_TARGET}, raw on moto ({raw:.2f})"),
        (ours <= RATIO_TARGET, f"time ratio <= {RATIO_TARGET}, our side alone ({ours:.2f})"),
    )
    for ok, text in verdicts:
        print(f"{'PASS' if ok else 'FAIL'} {text}")
    return 0 if ok_items and ours <= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
