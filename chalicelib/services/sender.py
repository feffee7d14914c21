"""The send queue's consumer: one queued email in, one email_sent / skipped / failed out.

For each message: claim its ledger entry (a second copy stops here), check the recipient may
receive it, render the compiled template for this contact, sign its links, build the MIME
message, wait for the send rate, hand it to SES (throttling is retried with backoff and never
sends twice), then settle the ledger entry together with the timeline event. A queue batch
goes through together: one transaction claims its entries, one read fetches its contacts and
one their suppressions, one transaction settles them, so SES is most of what a send costs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.events import EMAIL_FAILED, EMAIL_SENT, EMAIL_SKIPPED, Event
from chalicelib.leads import ownership
from chalicelib.messaging import eligibility, links, mime
from chalicelib.messaging.compiler import CompiledEmail
from chalicelib.messaging.ratelimit import RateLimiter
from chalicelib.messaging.renderer import MissingValue, Rendered, Renderer
from chalicelib.messaging.tokens import Signer
from chalicelib.messaging.transport import Outgoing, Refused, Throttled, Transport
from chalicelib.reports import tally
from chalicelib.store.contacts import ContactStore
from chalicelib.store.ledger import Ledger, Settlement, Status
from chalicelib.store.outage import is_outage
from chalicelib.store.subscriptions import SubscriptionStore
from chalicelib.store.template_library import EmailSettings, TemplateLibrary

log = logging.getLogger(__name__)
SOURCE = "email"
LEASE = timedelta(minutes=10)
# A batch gives back what it has not sent after this long (the function has a minute), and
# records what it sent at least this often.
BATCH_SECONDS = 30.0
FLUSH_SECONDS = 5.0
BACKOFF = (0.2, 0.5, 1.0, 2.0, 4.0)
# Marketing email that names no topic counts as this one: consent and unsubscribes apply.
DEFAULT_TOPIC = "marketing"
_JOURNEY_KEYS = (
    "journey",
    "version",
    "enrollment",
    "step",
    "ledger",
    "template",
    "topic",
    "internal",
    "broadcast",
    "variant",
    "campaign",
)


class TryLater(RuntimeError):
    """Still throttled after the backoff: the message goes back to the queue."""


@dataclass(frozen=True)
class Urls:
    """The public routes a sent email links to (see api/email.py)."""

    base: str

    def click(self, token: str) -> str:
        return f"{self.base}/t/c/{token}"

    def open(self, token: str) -> str:
        return f"{self.base}/t/o/{token}.gif"

    def unsubscribe(self, token: str) -> str:
        return f"{self.base}/unsubscribe/{token}"

    def assets(self) -> str:
        return f"{self.base}/assets"


def contact_view(contact: dict[str, Any]) -> dict[str, Any]:
    """What a template sees as `contact`: profile fields flat, plus the contact's basics."""
    view = dict(contact.get("properties") or {})
    view.update(
        id=contact.get("id"),
        email=contact.get("email"),
        phone=contact.get("phone"),
        stage=contact.get("stage"),
        score=contact.get("score"),
        tags=sorted(contact.get("tags") or ()),
        segments=sorted(contact.get("segments") or ()),
    )
    return {k: v for k, v in view.items() if v is not None}


@dataclass(frozen=True)
class Personalised:
    """One contact's email: what it says, and the links and token it was signed with."""

    subject: str
    rendered: Rendered
    links: list[str]
    unsubscribe_token: str


def personalise(
    renderer: Renderer,
    signer: Signer,
    urls: Urls,
    email: CompiledEmail,
    contact: dict[str, Any],
    sent_id: str,
    subject_source: str,
    extra: dict[str, Any],
    internal: bool = False,
) -> Personalised:
    """Subject, HTML and text for one contact, every link signed for this send.

    An internal email (to a salesperson, about the contact) is neither tracked nor
    unsubscribable: its opens and clicks are not the contact's, nor is its unsubscribe link.
    """
    cid = str(contact["id"])
    context = {**extra, "contact": contact_view(contact), "assets_url": urls.assets()}
    owner = extra.get(ownership.OWN_LINK_FOR) if internal else None
    if owner:  # signed at the send: only the owner's mailbox holds it
        token = signer.sign(ownership.OWNER_PURPOSE, cid, str(owner))
        context["lead"] = {**(context.get("lead") or {}), "link": f"{urls.base}/accept/{token}"}
    unsubscribe_token = ""
    tracker = None
    if not internal:
        tracker = links.Tracker(
            lambda i: urls.click(signer.sign("click", cid, sent_id, str(i))),
            urls.open(signer.sign("open", cid, sent_id)),
            untracked=(urls.unsubscribe(""),),
        )
        unsubscribe_token = signer.sign("unsubscribe", cid, sent_id)
        context.update(
            {"unsubscribe_url": urls.unsubscribe(unsubscribe_token), links.TRACKER: tracker}
        )
    else:
        context["unsubscribe_url"] = ""
    subject = renderer.subject(subject_source, context)
    rendered = renderer.render(email, {**context, "subject": subject})
    return Personalised(subject, rendered, tracker.links if tracker else [], unsubscribe_token)


_tag = tally.tag_value  # SES tag values allow letters, digits, _ and - only


@dataclass(frozen=True)
class _Found:
    """What a batch read: its contacts by id, and which of their addresses are suppressed."""

    contacts: dict[str, dict[str, Any]]
    suppressions: dict[str, str]


@dataclass(frozen=True)
class _Prepared:
    mail: Outgoing
    event_id: str
    at: datetime
    properties: dict[str, Any]


class Sender:
    def __init__(
        self,
        *,
        clock: Clock,
        sleep: Callable[[float], None],
        contacts: ContactStore,
        templates: TemplateLibrary,
        subscriptions: SubscriptionStore,
        ledger: Ledger,
        transport: Transport,
        signer: Signer,
        limiter: RateLimiter,
        public_url: str,
        cancelled: Callable[[str], bool] = lambda broadcast_id: False,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.contacts = contacts
        self.templates = templates
        self.subscriptions = subscriptions
        self.ledger = ledger
        self.transport = transport
        self.signer = signer
        self.limiter = limiter
        self.urls = Urls(public_url)
        self.renderer = Renderer()
        self.cancelled = cancelled

    def deliver(self, request: Mapping[str, Any]) -> str:
        """Deliver one queued email; returns what became of it (sent, skipped, failed, ...)."""
        outcome = self.deliver_many([request])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def deliver_many(self, requests: Sequence[Mapping[str, Any]]) -> list[str | Exception]:
        """Deliver a queue batch: one transaction claims every entry, one read each fetches
        the contacts and their suppressions, SES is called per email, one transaction
        settles them with their events. Each request's outcome, in order: what became of it,
        or the exception to report it failed by (its claim given back for the next copy)."""
        outcomes: list[str | Exception] = ["duplicate"] * len(requests)
        first: dict[str, int] = {}
        for i, request in enumerate(requests):
            first.setdefault(str(request["ledger"]), i)  # a second copy in one batch waits
        claims = self.ledger.claim_many(list(first), self.clock.now(), LEASE)
        mine = [i for key, i in first.items() if claims[key].granted]
        lapsed = [i for key, i in first.items() if claims[key].expired]
        if mine:
            self._deliver_claimed(requests, mine, outcomes)
        for i in lapsed:
            detail = "delivery was interrupted; not retried, so it cannot arrive twice"
            outcomes[i] = self._fail(requests[i], "interrupted", detail)
        return outcomes

    def _deliver_claimed(
        self,
        requests: Sequence[Mapping[str, Any]],
        mine: list[int],
        outcomes: list[str | Exception],
    ) -> None:
        """Send the claimed emails, settling as it goes every few seconds (a slow SES must
        not hold many sent emails unrecorded) and giving back what is left when the batch
        has run long, so the next copy sends it before the function's time runs out."""
        try:
            found = self._read([requests[i] for i in mine])
        except Exception:
            self._release([requests[i] for i in mine])
            raise
        settled: list[Settlement] = []
        started = flushed = time.monotonic()
        for n, i in enumerate(mine):
            if time.monotonic() - started > BATCH_SECONDS:
                self._release([requests[j] for j in mine[n:]])
                for j in mine[n:]:
                    outcomes[j] = TryLater("the batch ran long; the next copy sends it")
                break
            outcomes[i] = self._one(requests[i], found, settled)
            if settled and time.monotonic() - flushed > FLUSH_SECONDS:
                self.ledger.settle_many(settled)
                settled, flushed = [], time.monotonic()
        self.ledger.settle_many(settled)

    def _read(self, requests: list[Mapping[str, Any]]) -> _Found:
        contacts = self.contacts.get_many([str(r["contact_id"]) for r in requests])
        addresses = [str(c.get("email") or "") for c in contacts.values()]
        addresses += [str(r["to"]) for r in requests if r.get("internal") and r.get("to")]
        return _Found(contacts, self.subscriptions.suppressions(addresses))

    def _release(self, requests: list[Mapping[str, Any]]) -> None:
        for request in requests:
            try:
                self.ledger.release(str(request["ledger"]))
            except Exception:  # the store is away too: the lease runs out instead
                log.warning("claim %s not given back", request["ledger"])

    def _one(
        self, request: Mapping[str, Any], found: _Found, settled: list[Settlement]
    ) -> str | Exception:
        """One claimed email: prepare, hand to SES, and add how it ended to `settled`."""
        try:
            prepared = self._prepare(request, found)
            if isinstance(prepared, Settlement):
                settled.append(prepared)
                return "skipped" if prepared.status == Status.SKIPPED else "failed"
            message_id = self._send(prepared.mail)
        except Refused as exc:
            settled.append(self._ending(request, Status.FAILED, EMAIL_FAILED, "refused", str(exc)))
            return "failed"
        except Exception as exc:
            self._release([request])  # nothing was handed to SES: the next copy may try
            return exc
        # Handed over: from here on the claim is never released, whatever happens.
        properties = {**prepared.properties, "message_id": message_id}
        event = self._event(request, EMAIL_SENT, properties, prepared.event_id, prepared.at)
        settled.append(
            Settlement(str(request["ledger"]), Status.SENT, {"message_id": message_id}, event)
        )
        return "sent"

    def _prepare(self, request: Mapping[str, Any], found: _Found) -> _Prepared | Settlement:
        """Everything before the hand-over; or how it ended without one (skipped, failed)."""
        contact = found.contacts.get(str(request["contact_id"]))
        if contact is None:
            return self._failure(request, "no_contact", "the contact no longer exists")
        settings = self.templates.settings()
        internal = bool(request.get("internal"))
        address = request.get("to") if internal else contact.get("email")
        suppression = found.suppressions.get(str(address).lower()) if address else None
        transactional = bool(request.get("transactional")) or internal
        skip = eligibility.check(
            {**contact, "email": address} if internal else contact,
            topic=request.get("topic") or (None if transactional else DEFAULT_TOPIC),
            transactional=transactional,
            suppression=suppression,
            consent_topics=settings.consent_topics,
        )
        broadcast = request.get("broadcast")
        if skip is None and broadcast and self.cancelled(str(broadcast)):
            skip = eligibility.Skip("cancelled", f"the broadcast {broadcast} was cancelled")
        if skip is not None:
            return self._ending(request, Status.SKIPPED, EMAIL_SKIPPED, skip.reason, skip.detail)
        name = str(request["template"])
        email = self.templates.get(name)
        if email is None:
            return self._failure(request, "no_template", f"template {name} is not published")
        now = self.clock.now()
        sent_id = ids.derived_event_id(now, str(request["ledger"]), EMAIL_SENT)
        extra = {
            "journey": request.get("journey"),
            "step": request.get("step"),
            **(request.get("context") or {}),
        }
        try:
            mail = personalise(
                self.renderer,
                self.signer,
                self.urls,
                email,
                contact,
                sent_id,
                str(request["subject"]),
                extra,
                internal,
            )
        except MissingValue as exc:
            return self._failure(request, "render_failed", str(exc))
        envelope = self._envelope(
            request, settings, str(address), mail.subject, mail.unsubscribe_token
        )
        try:
            raw = mime.build(envelope, mail.rendered.html, mail.rendered.text, now)
        except mime.HeaderError as exc:
            return self._failure(request, "bad_header", str(exc))
        tags = {
            "journey": _tag(request.get("journey") or "none"),
            "step": _tag(request.get("step") or "none"),
            "campaign": _tag(request.get("campaign") or "none"),
            "broadcast": _tag(request.get("broadcast") or "none"),
            "template": _tag(name),
        }
        properties = {"subject": mail.subject, "to": address, "links": mail.links}
        outgoing = Outgoing(envelope.sender, str(address), raw, tags)
        return _Prepared(outgoing, sent_id, now, properties)

    def _envelope(
        self,
        request: Mapping[str, Any],
        settings: EmailSettings,
        address: str,
        subject: str,
        unsubscribe_token: str,
    ) -> mime.Envelope:
        sender = request.get("from") or settings.sender
        if not sender:
            raise Refused("no sender: set `from` in templates/brand.yaml or on the step")
        targets: list[str] = []
        if not request.get("transactional") and not request.get("internal"):
            targets.append(self.urls.unsubscribe(unsubscribe_token))
            if settings.unsubscribe_mailto:
                subject_line = quote(f"unsubscribe {unsubscribe_token}")
                targets.append(f"mailto:{settings.unsubscribe_mailto}?subject={subject_line}")
        return mime.Envelope(
            sender=str(sender),
            recipient=address,
            subject=subject,
            reply_to=request.get("reply_to") or settings.reply_to,
            unsubscribe=tuple(targets),
        )

    def _send(self, mail: Outgoing) -> str:
        for pause in (*BACKOFF, None):
            self.limiter.acquire()
            try:
                return self.transport.send(mail)
            except Throttled as exc:
                if pause is None:
                    raise TryLater(str(exc)) from exc
                log.warning("throttled, retrying in %.1f s: %s", pause, exc)
                self.sleep(pause)
        raise AssertionError("unreachable")

    def _fail(self, request: Mapping[str, Any], reason: str, detail: str) -> str:
        """Settle a failure on its own (a delivery found interrupted)."""
        ending = self._failure(request, reason, detail)
        self.ledger.settle(ending.key, ending.status, ending.result, ending.event)
        return "failed"

    def _failure(self, request: Mapping[str, Any], reason: str, detail: str) -> Settlement:
        return self._ending(request, Status.FAILED, EMAIL_FAILED, reason, detail)

    def _ending(
        self, request: Mapping[str, Any], status: Status, kind: str, reason: str, detail: str
    ) -> Settlement:
        now = self.clock.now()
        event_id = ids.derived_event_id(now, str(request["ledger"]), kind)
        props = {"reason": reason, "detail": detail}
        event = self._event(request, kind, props, event_id, now)
        return Settlement(str(request["ledger"]), status, props, event)

    def _event(
        self,
        request: Mapping[str, Any],
        kind: str,
        properties: dict[str, Any],
        event_id: str,
        at: datetime,
    ) -> Event:
        context = {k: request[k] for k in _JOURNEY_KEYS if request.get(k) is not None}
        return Event(
            contact_id=str(request["contact_id"]),
            event_id=event_id,
            type=kind,
            occurred_at=at,
            source=SOURCE,
            properties={**context, **properties},
            caused_by=request.get("event_id"),
        )


def handle_batch(records: Iterable[Mapping[str, Any]], sender: Sender) -> dict[str, Any]:
    """The Lambda adapter: each SQS record is one email, delivered together; failures come
    back on their own (a record that is not a send request fails alone)."""
    records = list(records)
    failures: list[dict[str, Any]] = []
    requests, good = [], []
    for record in records:
        try:
            request = json.loads(record["body"])
            if not isinstance(request, dict) or not request.get("ledger"):
                raise ValueError("not a send request")
        except (ValueError, KeyError, TypeError) as exc:
            log.error("send %s is not a send request: %s", record.get("messageId"), exc)
            failures.append({"itemIdentifier": record.get("messageId")})
            continue
        requests.append(request)
        good.append(record)
    outcomes = sender.deliver_many(requests) if requests else []
    for record, outcome in zip(good, outcomes, strict=True):
        if isinstance(outcome, Exception):
            if is_outage(outcome):
                raise outcome  # the store or SES is away: the batch comes back, nothing is lost
            log.error("send %s failed; it will be retried: %r", record.get("messageId"), outcome)
            failures.append({"itemIdentifier": record.get("messageId")})
    return {"batchItemFailures": failures}
