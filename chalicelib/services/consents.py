"""Consent given or withdrawn by another channel (a phone call, a paper form, a support
ticket) and recorded by staff: an email topic, every marketing email (`*`), or a purpose
(`purpose:sensitive`, `purpose:third_party`, `purpose:cross_border`), with the notice's
version and where it came from. A withdrawal is on the contact before the answer leaves,
so no email is sent on it afterwards (the sender reads consent at send time)."""

from __future__ import annotations

from chalicelib.clock import Clock
from chalicelib.consent import PURPOSES, purpose_key
from chalicelib.errors import FieldError, FormValidationError
from chalicelib.events import ALL_TOPICS
from chalicelib.services import consent_changes
from chalicelib.store.subscriptions import SubscriptionStore
from chalicelib.store.template_library import TemplateLibrary

MAX_TEXT = 2000
MAX_VERSION = 100


class ConsentDesk:
    def __init__(
        self, subscriptions: SubscriptionStore, templates: TemplateLibrary, clock: Clock
    ) -> None:
        self.subscriptions = subscriptions
        self.templates = templates
        self.clock = clock

    def known(self) -> list[str]:
        """What may be consented to: every topic, `*` and each purpose."""
        topics = sorted(self.templates.settings().topics)
        return [ALL_TOPICS, *topics, *(purpose_key(p) for p in PURPOSES)]

    def change(
        self,
        contact_id: str,
        about: str,
        granted: bool,
        source: str,
        *,
        origin: str,
        version: str | None = None,
        text: str | None = None,
    ) -> bool:
        """Record it; NotFound when there is no such contact."""
        known = self.known()
        errors = []
        if about not in known:
            errors.append(FieldError("consent", f"must be one of {', '.join(known)}"))
        if not source.strip() or len(source) > 200:
            errors.append(FieldError("source", "say where it came from (at most 200 characters)"))
        if granted and not version:
            errors.append(FieldError("version", "a consent given needs the notice's version"))
        if version is not None and len(version) > MAX_VERSION:
            errors.append(FieldError("version", f"at most {MAX_VERSION} characters"))
        if text is not None and len(text) > MAX_TEXT:
            errors.append(FieldError("text", f"at most {MAX_TEXT} characters"))
        if errors:
            raise FormValidationError(errors)
        notice = {k: v for k, v in (("version", version), ("text", text)) if v}
        return consent_changes.record(
            self.subscriptions,
            self.clock,
            contact_id,
            {about: granted},
            source.strip(),
            origin=origin,
            context={"version": version} if version else None,
            notice=notice,
        )
