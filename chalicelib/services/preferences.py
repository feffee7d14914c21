"""Unsubscribe and the preference centre: RFC 8058 one-click, everything, or per topic.

The link in each email (and its List-Unsubscribe header) carries a signed token naming the
contact and the email. A one-click POST, or "unsubscribe from everything" on the page, stops
all marketing email and writes `unsubscribed`, which takes the contact out of its journeys.
The page's switches show what the contact really receives (a topic forms ask consent for is
off until consent is given) and change one topic at a time: turning one off writes
`topic_unsubscribed` for that topic only, so journeys go on and only that topic's email
stops. Each change is written to the contact together with its events in one transaction,
so the very next send already sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import consent
from chalicelib.clock import Clock
from chalicelib.errors import FieldError, FormValidationError, NotFound
from chalicelib.events import ALL_TOPICS
from chalicelib.messaging import eligibility
from chalicelib.messaging.tokens import Signer
from chalicelib.services import consent_changes
from chalicelib.services.engagement import link_fields
from chalicelib.store.contacts import ContactStore
from chalicelib.store.subscriptions import SubscriptionStore
from chalicelib.store.template_library import TemplateLibrary

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
            Topic(topic, label, eligibility.receives(consents, topic, settings.consent_topics))
            for topic, label in sorted(settings.topics.items())
        ]
        everything = all(t.subscribed for t in topics)
        return Page(mask(contact.get("email") or ""), everything, topics, settings.name or "")

    def unsubscribe_all(self, token: str, source: str) -> bool:
        """Stop all marketing email; False if the contact had already asked for that."""
        contact, sent_id = self._who(token)
        if consent.subscribed(contact.get("consents") or {}, None) is False:
            return False
        self._change(contact["id"], sent_id, {ALL_TOPICS: False}, source)
        return True

    def choose(self, token: str, keep: set[str], source: str = "preference_centre") -> None:
        """Receive exactly the topics in `keep`: each topic whose switch changed is changed,
        on its own; the others, and the rest of the contact's consents, stay as they are."""
        contact, sent_id = self._who(token)
        settings = self.templates.settings()
        known = set(settings.topics)
        unknown = keep - known
        if unknown:
            message = f"unknown topics: {', '.join(sorted(unknown))}"
            raise FormValidationError([FieldError("topics", message)])
        consents = contact.get("consents") or {}
        changes = {
            topic: topic in keep
            for topic in sorted(known)
            if eligibility.receives(consents, topic, settings.consent_topics) != (topic in keep)
        }
        if changes:
            self._change(contact["id"], sent_id, changes, source)

    def _change(self, contact_id: str, sent_id: str, changes: dict[str, bool], source: str) -> None:
        consent_changes.record(
            self.subscriptions,
            self.clock,
            contact_id,
            changes,
            source,
            origin=SOURCE,
            context={"email": sent_id},
        )
