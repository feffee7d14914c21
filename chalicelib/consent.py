"""What a contact said about email, per topic: the one reading of the consent records.

Consents are a map of topic -> the latest record ({"granted": bool, "at": iso time, ...});
the topic `*` stands for every marketing email. The newest record that concerns a topic
decides, so unsubscribing from everything and later ticking a form's consent box for one
topic subscribes that topic again, and nothing else.
"""

from __future__ import annotations

from typing import Any

from chalicelib.events import ALL_TOPICS


def latest(consents: dict[str, Any], topic: str | None) -> dict[str, Any] | None:
    """The newest record for the topic or for everything; the topic's own wins a tie."""
    records = [consents.get(topic)] if topic else []
    records.append(consents.get(ALL_TOPICS))
    present = [r for r in records if isinstance(r, dict)]
    return max(present, key=lambda r: str(r.get("at") or ""), default=None)


def subscribed(consents: dict[str, Any], topic: str | None) -> bool | None:
    """True or False when the contact said so for this topic (or everything); None if never."""
    record = latest(consents, topic)
    return None if record is None else bool(record.get("granted"))
