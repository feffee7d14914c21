"""The local stand-ins for Lambda's triggers, scaled out as Lambda scales them.

On AWS the events stream feeds the pipeline Lambda with several batches of one shard at once
(ParallelizationFactor, in order per contact), each queue feeds several concurrent Lambdas,
and EventBridge fires the tick and the sweeper. Locally each of those is a `Loop` on a thread,
and the loops run in worker processes of their own (`workers.py`), as Lambdas do: apart from
the API's process, so that neither waits for the other's turn at the interpreter.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from chalicelib.bootstrap import Services
from chalicelib.journeys import fanout
from chalicelib.local import queue_driver
from chalicelib.local.loop import Loop
from chalicelib.local.stream_driver import StreamDriver
from chalicelib.messaging import courier, sender
from chalicelib.messaging.queues import ADVANCE, SENDS, WEBHOOKS
from chalicelib.pipeline import stream, sweeper
from chalicelib.store.models import EventModel

SWEEP_EVERY_SECONDS = 30.0
# AWS ticks every minute; locally a few seconds, so a short wait in a journey shows soon.
TICK_EVERY_SECONDS = 5.0
STREAM_IDLE_SECONDS = 0.05
PARALLEL_BATCHES = 10  # per stream shard, in order per contact
WORKERS = {SENDS: 4, WEBHOOKS: 2, ADVANCE: 2}  # concurrent consumers per queue

Records = list[dict[str, Any]]


def _contact(record: dict[str, Any]) -> str:
    image = record.get("dynamodb", {}).get("Keys") or record.get("dynamodb", {}).get("NewImage")
    return str((image or {}).get("contact_id", {}).get("S", ""))


def parallel_by_contact(
    handle: Callable[[Records], dict[str, Any]], pool: ThreadPoolExecutor, ways: int
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Split a stream batch into `ways` groups by contact and handle them at once. Each
    contact's events stay in order in one group; the batch reports the earliest failure, so the
    stream resumes there and the records after it are skipped as already processed."""

    def handle_batch(batch: dict[str, Any]) -> dict[str, Any]:
        groups: list[Records] = [[] for _ in range(ways)]
        for record in batch["Records"]:
            groups[zlib.crc32(_contact(record).encode()) % ways].append(record)
        answers = pool.map(handle, [g for g in groups if g])
        failed = [f["itemIdentifier"] for a in answers for f in a.get("batchItemFailures", [])]
        first = min(failed, key=int, default=None)
        return {"batchItemFailures": [{"itemIdentifier": first}] if first else []}

    return handle_batch


def loops(svc: Services, only: frozenset[str] | None = None) -> list[Loop]:
    """The drivers of the local stack (those whose role is in `only`), ready to start."""
    pool = ThreadPoolExecutor(PARALLEL_BATCHES, thread_name_prefix="pipeline")
    pipeline = StreamDriver(
        EventModel.Meta.table_name,
        parallel_by_contact(
            lambda records: stream.handle_batch(records, svc.processor), pool, PARALLEL_BATCHES
        ),
        lazy=True,
    )
    grace = timedelta(seconds=svc.settings.sweep_grace_seconds)
    handlers: dict[str, Callable[[Records], dict[str, Any]]] = {
        ADVANCE: lambda records: fanout.handle_batch(records, svc.journeys),
        SENDS: lambda records: sender.handle_batch(records, svc.sender),
        WEBHOOKS: lambda records: courier.handle_batch(records, svc.courier),
    }

    def consumer(queue: str) -> Callable[[], int]:
        return lambda: queue_driver.drain_once(svc.queues, queue, handlers[queue], wait_seconds=1)

    def tick() -> int:
        svc.tick()
        return 0

    def sweep() -> int:
        sweeper.sweep(svc.processor, grace)
        return 0

    every = [
        ("pipeline", Loop("pipeline", pipeline.poll_once, STREAM_IDLE_SECONDS)),
        *(
            (queue, Loop(f"{queue}-{n + 1}", consumer(queue), 0.0))
            for queue, count in WORKERS.items()
            for n in range(count)
        ),
        ("tick", Loop("tick", tick, TICK_EVERY_SECONDS)),
        ("sweeper", Loop("sweeper", sweep, SWEEP_EVERY_SECONDS)),
    ]
    return [lp for role, lp in every if only is None or role in only]
