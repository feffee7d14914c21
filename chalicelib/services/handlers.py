"""The registry of pipeline handlers: which parts of the product see which events.

Order matters within an event: stitching first (it may move history onto a contact), then
scoring (score, reasons, stage), then rules, then segments (so that journeys see current
memberships), then journeys, then the hand-off; the steward and retention watch for quiet
records; the outbox forwards queued emails and webhooks; the broadcaster counts what
broadcast emails did, and the bookkeeper keeps the report counters. Each commits its own effects
with ids derived from the event, so a retried event changes nothing twice (the contract is
in pipeline/registry.py).
"""

from __future__ import annotations

from chalicelib.events import EMAIL_QUEUED, WEBHOOK_QUEUED
from chalicelib.pipeline.registry import ANY, Handler, Registry
from chalicelib.services import vitals
from chalicelib.services.bookkeeper import Bookkeeper
from chalicelib.services.broadcast_stats import COUNTED, BroadcastStats
from chalicelib.services.dispatcher import Dispatcher
from chalicelib.services.journey_runner import JourneyRunner
from chalicelib.services.outbox import Outbox
from chalicelib.services.retention import Retention
from chalicelib.services.rfm import RfmKeeper
from chalicelib.services.rule_runner import RuleRunner
from chalicelib.services.scorekeeper import Scorekeeper
from chalicelib.services.segmenter import Segmenter
from chalicelib.services.steward import Steward
from chalicelib.services.stitch import Stitcher


def registry(
    stitcher: Stitcher,
    journeys: JourneyRunner,
    outbox: Outbox,
    scorekeeper: Scorekeeper | None = None,
    rules: RuleRunner | None = None,
    dispatcher: Dispatcher | None = None,
    segmenter: Segmenter | None = None,
    rfm: RfmKeeper | None = None,
    broadcast_stats: BroadcastStats | None = None,
    steward: Steward | None = None,
    bookkeeper: Bookkeeper | None = None,
    retention: Retention | None = None,
) -> Registry:
    handlers = (
        stitcher.on_event,
        *((scorekeeper.on_event,) if scorekeeper else ()),
        *((rules.on_event,) if rules else ()),
        *((segmenter.on_event,) if segmenter else ()),
        journeys.on_event,
        *((dispatcher.on_event,) if dispatcher else ()),
        *((rfm.on_event,) if rfm else ()),
        *((steward.on_event,) if steward else ()),
        *((retention.on_event,) if retention else ()),
        # Last: the report counters never hold up scoring, journeys or a hand-off.
        *((bookkeeper.on_event,) if bookkeeper else ()),
    )
    by_type: dict[str, tuple[Handler, ...]] = {
        EMAIL_QUEUED: (outbox.forward,),
        WEBHOOK_QUEUED: (outbox.forward,),
    }
    for kind in vitals.METRICS:
        by_type[kind] = (*by_type.get(kind, ()), vitals.on_event)
    if broadcast_stats:
        for kind in COUNTED:
            by_type[kind] = (*by_type.get(kind, ()), broadcast_stats.on_event)
    return {ANY: handlers, **by_type}
