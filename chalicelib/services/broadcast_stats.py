"""What broadcast emails did, counted once per contact: sent, opened, clicked, skipped (by
reason) and failed, per variant; the A/B verdict and `status` read these counters."""

from __future__ import annotations

from chalicelib.broadcasts import plan
from chalicelib.events import (
    EMAIL_CLICKED,
    EMAIL_FAILED,
    EMAIL_OPENED,
    EMAIL_SENT,
    EMAIL_SKIPPED,
    Event,
)
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.store.broadcasts import BroadcastStore

_METRICS = {EMAIL_SENT: "sent", EMAIL_OPENED: "opened", EMAIL_CLICKED: "clicked"}
COUNTED = (EMAIL_SENT, EMAIL_OPENED, EMAIL_CLICKED, EMAIL_SKIPPED, EMAIL_FAILED)


class BroadcastStats:
    def __init__(self, store: BroadcastStore) -> None:
        self.store = store

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        """Count each broadcast email's send, opener, clicker, skip and failure once."""
        broadcast_id = event.properties.get("broadcast")
        if not broadcast_id:
            return
        contact, now = event.contact_id, ctx.now()
        if event.type == EMAIL_SKIPPED:
            reason = str(event.properties.get("reason") or "other")
            self.store.count_once(broadcast_id, "skipped", ("skipped", reason), contact, now)
        elif event.type == EMAIL_FAILED:
            self.store.count_once(broadcast_id, "failed", ("failed", "any"), contact, now)
        elif event.type in _METRICS:
            metric = _METRICS[event.type]
            arm = str(event.properties.get("variant") or plan.MAIN)
            self.store.count_once(broadcast_id, metric, (arm, metric), contact, now)
