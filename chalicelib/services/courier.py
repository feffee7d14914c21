"""The webhook queue's consumer: one queued notice in, one signed POST out, retried for a day.

Each message names a ledger entry. The courier claims it, resolves the channel's URL (from the
content or the environment variable it names), refuses unsafe targets (ssrf.py), formats the
notice for the channel (channels.py) and posts it to the checked address. Every attempt is
logged on the entry. A failure is tried again on SCHEDULE (about a day in all: the message
goes back to the queue with the time it may run, hopping at most 15 minutes per delay, as SQS
allows); then the delivery is settled failed and its message goes to the dead-letter queue,
from where an admin can replay it. Whatever goes wrong in an attempt after the claim (a
malformed request, a bug) is such a failure too, so no delivery is left claimed for ever.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.events import WEBHOOK_DELIVERED, WEBHOOK_FAILED, WEBHOOK_SKIPPED, Event
from chalicelib.leads.routing import Channel
from chalicelib.messaging import channels, ssrf
from chalicelib.messaging.channels import ChannelKind, Notice
from chalicelib.messaging.http_post import Poster
from chalicelib.messaging.queues import WEBHOOKS, WEBHOOKS_DEAD, Queues
from chalicelib.services import notices
from chalicelib.store.ledger import Ledger, Status
from chalicelib.store.outage import is_outage

log = logging.getLogger(__name__)
SOURCE = "webhooks"
LEASE = timedelta(minutes=2)
SCHEDULE = tuple(
    timedelta(seconds=s) for s in (30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800)
)
MAX_DELAY_SECONDS = 900
JOURNEY_WEBHOOK = "journey.webhook"  # the `type` a journey's webhook step posts
JOURNEY_SECRET = "LEADFLOW_JOURNEY_WEBHOOK_SECRET"  # signs journeys' webhooks when set
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Resolved:
    kind: str
    url: str
    secret: str | None


class NotConfigured(LookupError):
    """The channel's URL lives in an environment variable this deployment does not set."""


def resolve(channel: Mapping[str, Any], env: Mapping[str, str]) -> Resolved:
    spec = Channel.model_validate(channel)
    url = spec.url or env.get(spec.url_env or "", "")
    if not url:
        raise NotConfigured(f"{spec.url_env} is not set, so this {spec.kind} channel is off")
    secret = env.get(spec.secret_env) if spec.secret_env else None
    return Resolved(spec.kind, url, secret)


def message_id(key: str) -> str:
    """The webhook-id of a delivery: the same on every retry and replay of it."""
    return "msg_" + ids.derived_event_id(EPOCH, key)


def parts(request: Mapping[str, Any]) -> tuple[Mapping[str, Any], Notice, str]:
    """The channel, notice and webhook-id of a queued delivery: a notice for sales
    (services/notices.py), or a journey's webhook step (its URL and the author's payload)."""
    key = str(request["ledger"])
    if "channel" in request:
        notice = notices.notice_from(request["notice"])
        return request["channel"], notice, str(request.get("message_id") or message_id(key))
    journey, step = request.get("journey"), request.get("step")
    data = {
        "journey": journey,
        "step": step,
        "contact": request.get("contact") or {"id": request.get("contact_id")},
        "payload": request.get("payload") or {},
    }
    notice = Notice(type=JOURNEY_WEBHOOK, title=f"Journey {journey}, step {step}", data=data)
    target = {k: request[k] for k in ("url", "url_env") if request.get(k)}
    channel = {"kind": ChannelKind.WEBHOOK.value, **target, "secret_env": JOURNEY_SECRET}
    return channel, notice, message_id(key)


class Courier:
    def __init__(
        self,
        *,
        clock: Clock,
        ledger: Ledger,
        queues: Queues,
        poster: Poster,
        allow_private: bool = False,
        env: Mapping[str, str] | None = None,
        resolver: ssrf.Resolver | None = None,
        max_delay_seconds: int = MAX_DELAY_SECONDS,
    ) -> None:
        self.clock = clock
        self.ledger = ledger
        self.queues = queues
        self.poster = poster
        self.allow_private = allow_private
        self.env = env if env is not None else os.environ
        self.resolver = resolver
        self.max_delay_seconds = max_delay_seconds

    def deliver(self, request: Mapping[str, Any]) -> str:
        """Deliver one queued notice; returns delivered, retrying, dead, waiting, duplicate..."""
        now = self.clock.now()
        not_before = request.get("not_before")
        if not_before and datetime.fromisoformat(not_before) > now:
            self._requeue(request, datetime.fromisoformat(not_before))
            return "waiting"
        key = str(request["ledger"])
        claim = self.ledger.claim(key, now, LEASE, reclaim_expired=True)
        if not claim.granted:
            log.info("webhook %s: already %s", key, claim.status)
            if claim.status == Status.SENDING:
                # Another worker holds it. Come back when its lease is over: if that worker
                # died, this copy takes over, so the delivery is never left sending.
                self._requeue(request, now + LEASE)
                return "in_flight"
            return "duplicate"
        try:
            return self._attempt_delivery(request, key, claim.attempts, now)
        except Exception as exc:
            if is_outage(exc):
                raise  # nothing can be recorded; the lease runs out and a copy takes over
            log.exception("webhook %s attempt %d crashed", key, claim.attempts)
            problem = f"crashed: {type(exc).__name__}: {exc}"[:300]
            return self._failed(request, key, claim.attempts, self._attempt(now, None, problem, 0))

    def _attempt_delivery(
        self, request: Mapping[str, Any], key: str, attempts: int, now: datetime
    ) -> str:
        """One attempt on a claimed delivery: whatever goes wrong here is a failed attempt."""
        channel, notice, message_id = parts(request)
        try:
            target = resolve(channel, self.env)
        except NotConfigured as exc:
            attempt = self._attempt(now, None, str(exc), 0.0)
            self._settle(request, Status.SKIPPED, WEBHOOK_SKIPPED, attempt, attempts)
            return "skipped"
        try:
            checked = self._check(target.url)
        except ssrf.UnsafeUrl as exc:
            attempt = self._attempt(now, None, f"refused: {exc}", 0.0)
            self._settle(request, Status.FAILED, WEBHOOK_FAILED, attempt, attempts)
            return "refused"
        built = channels.build(target.kind, target.url, target.secret, notice, message_id, now)
        started = time.monotonic()
        try:
            answer = self.poster.post(replace(checked, url=built.url), built.headers, built.body)
            problem = channels.accepted(target.kind, answer.status, answer.body)
            status: int | None = answer.status
        except Exception as exc:  # the network: timeouts, resets, TLS
            problem, status = f"{type(exc).__name__}: {exc}"[:300], None
        attempt = self._attempt(now, status, problem, time.monotonic() - started)
        if problem is None:
            self._settle(request, Status.SENT, WEBHOOK_DELIVERED, attempt, attempts)
            return "delivered"
        return self._failed(request, key, attempts, attempt)

    def _failed(
        self, request: Mapping[str, Any], key: str, attempts: int, attempt: dict[str, Any]
    ) -> str:
        """A failed attempt: try again on SCHEDULE, then settle failed and dead-letter it."""
        if attempts > len(SCHEDULE):
            self._settle(request, Status.FAILED, WEBHOOK_FAILED, attempt, attempts)
            self.queues.send(WEBHOOKS_DEAD, dict(request))
            return "dead"
        self.ledger.retry_later(key, attempt)
        self._requeue(request, self.clock.now() + SCHEDULE[attempts - 1])
        log.warning("webhook %s attempt %d failed: %s", key, attempts, attempt.get("error"))
        return "retrying"

    def _check(self, url: str) -> ssrf.Target:
        if self.resolver is None:
            return ssrf.check(url, allow_private=self.allow_private)
        return ssrf.check(url, allow_private=self.allow_private, resolve=self.resolver)

    def _requeue(self, request: Mapping[str, Any], when: datetime) -> None:
        wait = (when - self.clock.now()).total_seconds()
        delay = max(0, min(self.max_delay_seconds, int(wait)))
        self.queues.send(WEBHOOKS, {**request, "not_before": when.isoformat()}, delay)

    @staticmethod
    def _attempt(at: datetime, status: int | None, problem: str | None, seconds: float):
        return {
            "at": at.isoformat(),
            "status": status,
            "ok": problem is None,
            "error": problem,
            "ms": round(seconds * 1000),
        }

    def _settle(
        self,
        request: Mapping[str, Any],
        status: Status,
        kind: str,
        attempt: dict[str, Any],
        attempts: int,
    ) -> None:
        key = str(request["ledger"])
        now = self.clock.now()
        props = {
            "ledger": key,
            "channel": (request.get("channel") or {}).get("kind"),
            "notice": (request.get("notice") or {}).get("type"),
            "attempts": attempts,
            "status": attempt.get("status"),
            "error": attempt.get("error"),
        }
        event = Event(
            contact_id=str(request["contact_id"]),
            event_id=ids.derived_event_id(now, key, kind, str(attempts)),
            type=kind,
            occurred_at=now,
            source=SOURCE,
            properties={k: v for k, v in props.items() if v is not None},
            caused_by=request.get("event_id"),
        )
        self.ledger.settle(key, status, {"attempts": attempts}, event, attempt)

    # --- admin ---------------------------------------------------------------------------------

    def replay(self, key: str) -> bool:
        """Send a dead delivery again, with a fresh schedule. False if it is not dead."""
        entry = self.ledger.get(key)
        if entry is None or entry.kind != "webhook" or not self.ledger.reopen(key):
            return False
        payload = entry.payload.as_dict() if hasattr(entry.payload, "as_dict") else entry.payload
        self.queues.send(
            WEBHOOKS, {**payload, "contact_id": entry.contact_id, "ledger": key, "replay": True}
        )
        return True

    def replay_dead_letters(self, limit: int = 1000) -> dict[str, int]:
        """Move everything in the dead-letter queue back, each delivery once."""
        report = {"replayed": 0, "skipped": 0}
        while report["replayed"] + report["skipped"] < limit:
            messages = self.queues.receive(WEBHOOKS_DEAD)
            if not messages:
                break
            for message in messages:
                key = str(message.body.get("ledger", ""))
                report["replayed" if key and self.replay(key) else "skipped"] += 1
                self.queues.delete(WEBHOOKS_DEAD, message)
        return report


def handle_batch(records: Iterable[Mapping[str, Any]], courier: Courier) -> dict[str, Any]:
    """The Lambda adapter: one record, one delivery; a crash returns the record to the queue."""
    failures = []
    for record in records:
        try:
            courier.deliver(json.loads(record["body"]))
        except Exception as exc:
            if is_outage(exc):
                raise  # the store is away: the whole batch comes back, nothing is lost
            log.exception("webhook %s crashed; it will be retried", record.get("messageId"))
            failures.append({"itemIdentifier": record.get("messageId")})
    return {"batchItemFailures": failures}
