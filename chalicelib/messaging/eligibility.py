"""Who may receive an email: pure rules over the contact, its consents and suppressions.

How consent records read is chalicelib/consent.py: the newest record about a topic (or
about everything) decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

from chalicelib.consent import latest, subscribed
from chalicelib.events import ALL_TOPICS, UNSUBSCRIBED


@dataclass(frozen=True)
class Skip:
    """Why an email was not sent: a machine reason and a sentence for the timeline."""

    reason: str
    detail: str


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
    record = latest(consents, topic)
    if record is not None and not record.get("granted"):
        everything = record is consents.get(ALL_TOPICS)
        what = "all marketing email" if everything else f"the {topic} topic"
        return Skip(UNSUBSCRIBED, f"unsubscribed from {what}")
    if record is None and topic in consent_topics:
        return Skip("no_consent", f"no consent for the {topic} topic, which forms ask consent for")
    return None
