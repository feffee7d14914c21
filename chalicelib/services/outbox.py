"""From the timeline to the queues: a queued email or webhook event becomes a queue message.

The engine writes `email_queued` and `webhook_queued` events in the same transaction as the
ledger entry; this handler forwards them when the pipeline sees them. Forwarding is
at-least-once (a crash before the pipeline commits forwards again); the consumers deliver
once by the ledger key each message carries.
"""

from __future__ import annotations

from chalicelib.events import EMAIL_QUEUED, WEBHOOK_QUEUED, Event
from chalicelib.messaging.queues import SENDS, WEBHOOKS, Queues
from chalicelib.pipeline.registry import HandlerContext

_ROUTES = {EMAIL_QUEUED: SENDS, WEBHOOK_QUEUED: WEBHOOKS}


class Outbox:
    def __init__(self, queues: Queues) -> None:
        self.queues = queues

    def forward(self, event: Event, ctx: HandlerContext) -> None:
        queue = _ROUTES.get(event.type)
        if queue is not None:
            self.queues.send(
                queue,
                {
                    "contact_id": event.contact_id,
                    "event_id": event.event_id,
                    "type": event.type,
                    **event.properties,
                },
            )
        return
