"""What a contact said about email, per topic: the one reading of the consent records.

Consents are a map of topic -> the latest record ({"granted": bool, "at": iso time, ...});
the topic `*` stands for every marketing email. The newest record that concerns a topic
decides, so unsubscribing from everything and later ticking a form's consent box for one
topic subscribes that topic again, and nothing else.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from chalicelib.events import ALL_TOPICS

# Purposes beyond marketing email that need a consent of their own (PIPL arts. 29, 23 and 39;
# GDPR art. 9): kept beside the topics as `purpose:<name>`, never answered by `*`.
Purpose = Literal["sensitive", "third_party", "cross_border"]
PURPOSES: tuple[str, ...] = get_args(Purpose)
PURPOSE_PREFIX = "purpose:"
PURPOSE_IN_BULK = (
    "email topics only: a purpose (purpose:...) is consented to on a form or recorded one"
    " person at a time (leadflow contacts consent), with its notice"
)


def purpose_key(purpose: str) -> str:
    return PURPOSE_PREFIX + purpose


def latest(consents: dict[str, Any], topic: str | None) -> dict[str, Any] | None:
    """The newest record for the topic or for everything; the topic's own wins a tie. A
    purpose has only its own record: unsubscribing from email withdraws no purpose."""
    records = [consents.get(topic)] if topic else []
    if not (topic or "").startswith(PURPOSE_PREFIX):
        records.append(consents.get(ALL_TOPICS))
    present = [r for r in records if isinstance(r, dict)]
    return max(present, key=lambda r: str(r.get("at") or ""), default=None)


def subscribed(consents: dict[str, Any], topic: str | None) -> bool | None:
    """True or False when the contact said so for this topic (or everything); None if never."""
    record = latest(consents, topic)
    return None if record is None else bool(record.get("granted"))
