"""Unsubscribe and the preference centre: RFC 8058 one-click, everything, or per topic.

The link in each email (and its List-Unsubscribe header) carries a signed token naming the
contact and the email. A one-click POST unsubscribes from all marketing email at once; the
page shows the same choice plus one switch per topic. Each change is written to the contact
together with its event in one transaction, so the very next send already sees it, and the
`unsubscribed` event takes the contact out of its journeys.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.errors import FieldError, FormValidationError, NotFound
from chalicelib.events import ALL_TOPICS, UNSUBSCRIBED, Event
from chalicelib.messaging import eligibility
from chalicelib.messaging.engagement import link_fields
from chalicelib.messaging.templates import TemplateLibrary
from chalicelib.messaging.tokens import Signer
from chalicelib.store.contacts import ContactStore
from chalicelib.store.subscriptions import SubscriptionStore

SUBSCRIBED = "subscribed"
SOURCE = "email"


@dataclass(frozen=True)
class Topic:
    id: str
    label: str
    subscribed: bool


@dataclass(frozen=True)
class Page:
    """What the preference centre shows: whose choices (masked), and each topic's state."""

    address: str
    everything: bool
    topics: list[Topic]
    brand: str


def mask(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}{'•' * max(len(local) - 1, 2)}@{domain}" if domain else "•••"


class Preferences:
    def __init__(
        self,
        signer: Signer,
        contacts: ContactStore,
        subscriptions: SubscriptionStore,
        templates: TemplateLibrary,
        clock: Clock,
    ) -> None:
        self.signer = signer
        self.contacts = contacts
        self.subscriptions = subscriptions
        self.templates = templates
        self.clock = clock

    def _who(self, token: str) -> tuple[dict, str]:
        fields = link_fields(self.signer, "unsubscribe", token, 2)
        contact = self.contacts.get(fields[0])
        if contact is None:
            raise NotFound("this unsubscribe link names no contact")
        return contact, fields[1]

    def page(self, token: str) -> Page:
        contact, _ = self._who(token)
        consents = contact.get("consents") or {}
        settings = self.templates.settings()
        topics = [
            Topic(topic, label, eligibility.subscribed(consents, topic) is not False)
            for topic, label in sorted(settings.topics.items())
        ]
        everything = all(t.subscribed for t in topics)
        return Page(mask(contact.get("email") or ""), everything, topics, settings.name or "")

    def unsubscribe_all(self, token: str, source: str) -> bool:
        """Stop all marketing email; False if the contact had already asked for that."""
        contact, sent_id = self._who(token)
        if eligibility.subscribed(contact.get("consents") or {}, None) is False:
            return False
        self._change(contact["id"], sent_id, {ALL_TOPICS: False}, source)
        return True

    def choose(self, token: str, keep: set[str], source: str = "preference_centre") -> None:
        """Keep exactly the topics in `keep`; an empty choice is an unsubscribe from all."""
        contact, sent_id = self._who(token)
        known = set(self.templates.settings().topics)
        unknown = keep - known
        if unknown:
            message = f"unknown topics: {', '.join(sorted(unknown))}"
            raise FormValidationError([FieldError("topics", message)])
        if not keep:
            self._change(contact["id"], sent_id, {ALL_TOPICS: False}, source)
            return
        consents = contact.get("consents") or {}
        # After an unsubscribe from everything, each topic gets its own record again (a later
        # record for a topic outranks the older `*`), so topics left off stay off.
        was_off = eligibility.subscribed(consents, None) is False
        changes = {
            topic: topic in keep
            for topic in known
            if was_off or (eligibility.subscribed(consents, topic) is not False) != (topic in keep)
        }
        if changes:
            self._change(contact["id"], sent_id, changes, source)

    def _change(self, contact_id: str, sent_id: str, changes: dict[str, bool], source: str) -> None:
        now = self.clock.now()
        at = now.isoformat()
        records = {t: {"granted": on, "at": at, "source": source} for t, on in changes.items()}
        off = sorted(t for t, on in changes.items() if not on)
        on = sorted(t for t, on in changes.items() if on)
        event = Event(
            contact_id=contact_id,
            event_id=ids.event_id(now),
            type=UNSUBSCRIBED if off else SUBSCRIBED,
            occurred_at=now,
            source=SOURCE,
            properties={
                "topics": off or on,
                "resubscribed": on,
                "source": source,
                "email": sent_id,
            },
        )
        self.subscriptions.change_consents(contact_id, records, event)
