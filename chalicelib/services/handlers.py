"""The registry of pipeline handlers: which parts of the product see which events.

Order matters within an event: stitching first (it may move history onto a contact), then
scoring (score, reasons, stage), then rules, then journeys, then the hand-off; the outbox
forwards queued emails and webhooks. Each writes its own effects with ids derived from the
event, so a retried event changes nothing twice.
"""

from __future__ import annotations

from chalicelib.pipeline.registry import ANY, Registry
from chalicelib.services import stitch
from chalicelib.services.dispatcher import Dispatcher
from chalicelib.services.journey_runner import JourneyRunner
from chalicelib.services.outbox import EMAIL_QUEUED, WEBHOOK_QUEUED, Outbox
from chalicelib.services.rule_runner import RuleRunner
from chalicelib.services.scorekeeper import Scorekeeper


def registry(
    journeys: JourneyRunner,
    outbox: Outbox,
    scorekeeper: Scorekeeper | None = None,
    rules: RuleRunner | None = None,
    dispatcher: Dispatcher | None = None,
) -> Registry:
    handlers = (
        stitch.stitch,
        *((scorekeeper.on_event,) if scorekeeper else ()),
        *((rules.on_event,) if rules else ()),
        journeys.on_event,
        *((dispatcher.on_event,) if dispatcher else ()),
    )
    return {
        ANY: handlers,
        EMAIL_QUEUED: (outbox.forward,),
        WEBHOOK_QUEUED: (outbox.forward,),
    }
