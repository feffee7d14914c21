"""Writing what a person said about email topics and purposes: the consent records and the
events that say so, in one transaction with the contact, so the very next send sees it.

One place for the preference centre, the one-click unsubscribe and the consents API, so a
withdrawal reads the same on the timeline whichever way it came.
"""

from __future__ import annotations

from typing import Any

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.consent import PURPOSE_PREFIX
from chalicelib.events import (
    ALL_TOPICS,
    CONSENT_GIVEN,
    CONSENT_WITHDRAWN,
    SUBSCRIBED,
    TOPIC_UNSUBSCRIBED,
    UNSUBSCRIBED,
    Event,
)
from chalicelib.store.subscriptions import SubscriptionStore


def _events(changes: dict[str, bool], context: dict[str, Any]) -> list[tuple[str, dict]]:
    topics = {k: on for k, on in changes.items() if not k.startswith(PURPOSE_PREFIX)}
    events: list[tuple[str, dict]] = []
    on = sorted(t for t, wanted in topics.items() if wanted)
    if on:
        events.append((SUBSCRIBED, {"topics": on, **context}))
    for topic in sorted(t for t, wanted in topics.items() if not wanted):
        if topic == ALL_TOPICS:
            events.append((UNSUBSCRIBED, {"topics": [ALL_TOPICS], **context}))
        else:
            events.append((TOPIC_UNSUBSCRIBED, {"topic": topic, **context}))
    for key in sorted(k for k in changes if k.startswith(PURPOSE_PREFIX)):
        kind = CONSENT_GIVEN if changes[key] else CONSENT_WITHDRAWN
        events.append((kind, {"purpose": key.removeprefix(PURPOSE_PREFIX), **context}))
    return events


def record(
    subscriptions: SubscriptionStore,
    clock: Clock,
    contact_id: str,
    changes: dict[str, bool],
    source: str,
    *,
    origin: str,
    context: dict[str, Any] | None = None,
    notice: dict[str, str] | None = None,
) -> bool:
    """Set each topic or purpose (`purpose:<name>`) to given or withdrawn, with the events;
    False when the same change was already recorded. `source` (who or what said so) goes on
    the records and the events, `notice` (version, text) on the records, `context` on the
    events; `origin` is the events' source (the channel: email, api, cli)."""
    now = clock.now()
    base = {"at": now.isoformat(), "source": source, **(notice or {})}
    records = {key: {"granted": on, **base} for key, on in changes.items()}
    first = ids.event_id(now)
    events = [
        Event(
            contact_id=contact_id,
            event_id=first if i == 0 else ids.effect_event_id(first, now, kind, str(i)),
            type=kind,
            occurred_at=now,
            source=origin,
            properties={**properties, "source": source},
            caused_by=None if i == 0 else first,
        )
        for i, (kind, properties) in enumerate(_events(changes, context or {}))
    ]
    return subscriptions.change_consents(contact_id, records, events)
