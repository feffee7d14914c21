"""The touches of a contact's timeline that attribution shares a deal among. Pure.

A form post is always a touch (the first one is where the contact became a lead); any other
event counts when it arrived through a campaign or a channel other than direct (a page view
from an ad or a newsletter). Repeats of one campaign and channel within half an hour are one
visit, so a reader clicking through five pages does not take five shares.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from chalicelib.events import FORM_SUBMITTED, Event
from chalicelib.reports.credit import NONE, Touch

SESSION = timedelta(minutes=30)


def touches(timeline: Iterable[Event], until: datetime) -> list[Touch]:
    """The touches before `until`, oldest first."""
    found: list[Touch] = []
    lead_seen = False
    for event in sorted(timeline, key=lambda e: e.occurred_at):
        if event.occurred_at > until or not event.touch:
            continue
        t = event.touch
        campaign = str(t.get("campaign") or NONE).strip().lower() or NONE
        channel = str(t.get("channel") or NONE)
        form = event.type == FORM_SUBMITTED
        if not form and campaign == NONE and channel in (NONE, "direct"):
            continue
        lead = form and not lead_seen
        lead_seen = lead_seen or form
        last = found[-1] if found else None
        if (
            last is not None
            and (last.campaign, last.channel) == (campaign, channel)
            and event.occurred_at - last.at <= SESSION
        ):
            if lead and not last.lead:
                found[-1] = Touch(last.at, campaign, channel, lead=True)
            continue
        found.append(Touch(event.occurred_at, campaign, channel, lead=lead))
    return found
