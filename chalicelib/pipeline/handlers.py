"""The registry of pipeline handlers: which parts of the product see which events.

Order matters within an event: stitching first (it may move history onto a contact), then
journeys; the outbox forwards queued emails and webhooks. Scoring, segments, rules and
handoff add theirs here.
"""

from __future__ import annotations

from chalicelib.journeys.runner import JourneyRunner
from chalicelib.leads import stitch
from chalicelib.messaging.outbox import EMAIL_QUEUED, WEBHOOK_QUEUED, Outbox
from chalicelib.pipeline.registry import ANY, Registry


def registry(journeys: JourneyRunner, outbox: Outbox) -> Registry:
    return {
        ANY: (stitch.stitch, journeys.on_event),
        EMAIL_QUEUED: (outbox.forward,),
        WEBHOOK_QUEUED: (outbox.forward,),
    }
