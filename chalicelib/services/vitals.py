"""The events an operator counts, as CloudWatch metrics (telemetry.count): form posts, emails
sent, skipped, failed, bounced and complained of, webhooks delivered and failed, hand-offs
and SLA breaches. A pipeline handler, so every way a lead or an email goes is counted in one
place, off the event it writes. A redelivered event may count twice: these are for alarms
and graphs; the reports count exactly (bookkeeper.py)."""

from __future__ import annotations

from chalicelib import telemetry
from chalicelib.events import (
    EMAIL_BOUNCED,
    EMAIL_COMPLAINED,
    EMAIL_FAILED,
    EMAIL_SENT,
    EMAIL_SKIPPED,
    FORM_SUBMITTED,
    LEAD_ASSIGNED,
    LEAD_SLA_EXPIRED,
    WEBHOOK_DELIVERED,
    WEBHOOK_FAILED,
    Event,
)
from chalicelib.pipeline.registry import HandlerContext

METRICS = {
    FORM_SUBMITTED: "FormPosts",
    EMAIL_SENT: "EmailsSent",
    EMAIL_SKIPPED: "EmailsSkipped",
    EMAIL_FAILED: "EmailsFailed",
    EMAIL_BOUNCED: "EmailsBounced",
    EMAIL_COMPLAINED: "EmailComplaints",
    WEBHOOK_DELIVERED: "WebhooksDelivered",
    WEBHOOK_FAILED: "WebhooksFailed",
    LEAD_ASSIGNED: "HandOffs",
    LEAD_SLA_EXPIRED: "SlaBreaches",
}


def on_event(event: Event, ctx: HandlerContext) -> None:
    telemetry.count(METRICS[event.type])
