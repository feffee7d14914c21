"""The local stand-ins for Lambda's triggers, scaled out as Lambda scales them.

On AWS the events stream feeds the pipeline Lambda with several batches of one shard at once
(ParallelizationFactor, in order per contact; locally `Lanes`), each queue feeds several
concurrent Lambdas, and EventBridge fires the tick and the sweeper. Locally each of those is a
`Loop` on a thread, and the loops run in worker processes of their own (`workers.py`), as
Lambdas do: apart from the API's process, so that neither waits for the other's turn at the
interpreter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from chalicelib.bootstrap import Services
from chalicelib.local import queue_driver
from chalicelib.local.lanes import Lanes
from chalicelib.local.loop import Loop
from chalicelib.local.stream_driver import StreamDriver
from chalicelib.messaging.queues import ADVANCE, IMPORTS, SENDS, WEBHOOKS
from chalicelib.pipeline import stream, sweeper
from chalicelib.pipeline.marks import Marks
from chalicelib.services import courier, import_desk, journey_fanout, sender
from chalicelib.store.models import EventModel

SWEEP_EVERY_SECONDS = 30.0
# AWS ticks every minute; locally a few seconds, so a short wait in a journey shows soon.
TICK_EVERY_SECONDS = 5.0
STREAM_IDLE_SECONDS = 0.05
LANES = 10  # contacts processed at once from the stream, each in order (lanes.py)
CONSUMERS = {SENDS: 4, WEBHOOKS: 2, ADVANCE: 2, IMPORTS: 1}  # concurrent consumers per queue

Records = list[dict[str, Any]]


def loops(svc: Services, only: frozenset[str] | None = None) -> list[Loop]:
    """The drivers of the local stack (those whose role is in `only`), ready to start."""
    marks = Marks(svc.clock)  # the lanes' processed events, marked together (marks.py)
    lanes = Lanes(lambda records: stream.handle_batch(records, svc.processor, marks), LANES)
    pipeline = StreamDriver(EventModel.Meta.table_name, lanes.accept, lazy=True)

    def read() -> int:
        """Read the stream; when it has nothing new, write the marks waiting."""
        records = pipeline.poll_once()
        if not records:
            marks.flush()
        return records

    grace = timedelta(seconds=svc.settings.sweep_grace_seconds)
    handlers: dict[str, Callable[[Records], dict[str, Any]]] = {
        ADVANCE: lambda records: journey_fanout.handle_batch(records, svc.journeys),
        IMPORTS: lambda records: import_desk.handle_batch(records, svc.imports),
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
        ("pipeline", Loop("pipeline", read, STREAM_IDLE_SECONDS)),
        *(
            ("pipeline", Loop(f"lane-{n + 1}", partial(lanes.work, n), 0.0, finish=marks.flush))
            for n in range(LANES)
        ),
        *(
            (queue, Loop(f"{queue}-{n + 1}", consumer(queue), 0.0))
            for queue, count in CONSUMERS.items()
            for n in range(count)
        ),
        ("tick", Loop("tick", tick, TICK_EVERY_SECONDS)),
        ("sweeper", Loop("sweeper", sweep, SWEEP_EVERY_SECONDS)),
    ]
    return [lp for role, lp in every if only is None or role in only]
