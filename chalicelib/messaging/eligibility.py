"""Who may receive an email: pure rules over the contact, its consents and suppressions.

Consents are a map of topic -> the latest record ({"granted": bool, "at": iso time, ...});
the topic `*` stands for every marketing email. The newest record that concerns a topic
decides, so unsubscribing from everything and later ticking a form's consent box for one
topic subscribes that topic again, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

from chalicelib.events import ALL_TOPICS, UNSUBSCRIBED


@dataclass(frozen=True)
class Skip:
    """Why an email was not sent: a machine reason and a sentence for the timeline."""

    reason: str
    detail: str


def _latest(consents: dict[str, Any], topic: str | None) -> dict[str, Any] | None:
    """The newest record for the topic or for everything; the topic's own wins a tie."""
    records = [consents.get(topic)] if topic else []
    records.append(consents.get(ALL_TOPICS))
    present = [r for r in records if isinstance(r, dict)]
    return max(present, key=lambda r: str(r.get("at") or ""), default=None)


def subscribed(consents: dict[str, Any], topic: str | None) -> bool | None:
    """True or False when the contact said so for this topic (or everything); None if never."""
    record = _latest(consents, topic)
    return None if record is None else bool(record.get("granted"))


def receives(consents: dict[str, Any], topic: str, consent_topics: frozenset[str]) -> bool:
    """Whether marketing email on `topic` may go to the contact, as far as consent goes: what
    they last said for it (or for everything), else yes unless forms ask consent for it."""
    said = subscribed(consents, topic)
    return said if said is not None else topic not in consent_topics


def valid_address(address: str | None) -> bool:
    if not address:
        return False
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def check(
    contact: dict[str, Any],
    *,
    topic: str | None,
    transactional: bool,
    suppression: str | None,
    consent_topics: frozenset[str],
) -> Skip | None:
    """None if this email may go to this contact; otherwise why not.

    Transactional mail (the thank-you with the download the person asked for) skips the
    marketing rules but never goes to an invalid or suppressed address.
    """
    address = contact.get("email")
    if not valid_address(address):
        return Skip("invalid_address", f"no valid email address ({address or 'none'})")
    if suppression:
        return Skip("suppressed", f"{address} is suppressed ({suppression})")
    if transactional:
        return None
    consents = contact.get("consents") or {}
    record = _latest(consents, topic)
    if record is not None and not record.get("granted"):
        everything = record is consents.get(ALL_TOPICS)
        what = "all marketing email" if everything else f"the {topic} topic"
        return Skip(UNSUBSCRIBED, f"unsubscribed from {what}")
    if record is None and topic in consent_topics:
        return Skip("no_consent", f"no consent for the {topic} topic, which forms ask consent for")
    return None
