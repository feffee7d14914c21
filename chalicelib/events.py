"""The spine: every fact about a contact is an Event, appended to its timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FORM_SUBMITTED = "form_submitted"
UNSUBSCRIBED = "unsubscribed"  # from all marketing email: journeys end on it
TOPIC_UNSUBSCRIBED = "topic_unsubscribed"  # from one topic only (property `topic`)
SUBSCRIBED = "subscribed"
# Sent by a website's tracker (POST /events), as the hosted thank-you page does for its download.
FILE_DOWNLOADED = "file_downloaded"
# The consent topic that stands for every marketing email (see messaging/eligibility.py).
ALL_TOPICS = "*"


@dataclass(frozen=True)
class Event:
    contact_id: str
    event_id: str
    type: str
    occurred_at: datetime
    source: str
    properties: dict[str, Any] = field(default_factory=dict)
    touch: dict[str, Any] | None = None
    caused_by: str | None = None
