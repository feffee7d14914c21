"""Running a broadcast: plan the audience once, release each wave when its time comes, judge
an A/B test, and count what the emails did.

The tick calls `run_due`. A run that is due pages through the audience (the segment's
member table, never the contacts), decides each contact (`broadcasts/plan.py`, the sender's
eligibility rules) and writes the plans a page at a time with its cursor, so an interrupted
run resumes where it stopped and a second run writes nothing twice. Then each wave (the
contacts who get the email at one instant) goes to the sends queue when its instant comes;
the sender claims each email's ledger entry, so a wave handed over twice sends once, paced
to the SES rate like every email.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from chalicelib import ids
from chalicelib.broadcasts import plan
from chalicelib.broadcasts.language import Broadcast
from chalicelib.clock import Clock
from chalicelib.errors import Conflict, FieldError, FormValidationError, NotFound
from chalicelib.events import (
    EMAIL_CLICKED,
    EMAIL_FAILED,
    EMAIL_OPENED,
    EMAIL_SENT,
    EMAIL_SKIPPED,
    UNSUBSCRIBED,
    Event,
)
from chalicelib.messaging import eligibility
from chalicelib.messaging.queues import SENDS, Queues
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.store.broadcast_library import BroadcastLibrary
from chalicelib.store.broadcasts import (
    BroadcastStore,
    Planned,
    Status,
    as_dict,
    ledger_key,
    plain_waves,
)
from chalicelib.store.contacts import ContactStore
from chalicelib.store.models import BroadcastModel, BroadcastSendModel
from chalicelib.store.segments import SegmentMembers
from chalicelib.store.subscriptions import SubscriptionStore
from chalicelib.store.template_library import TemplateLibrary

log = logging.getLogger(__name__)
PAGE = 100
PAST = timedelta(minutes=5)  # a send time this far back is a mistake, not "now"
# Planning stops after this long in one tick (its Lambda has 300 s) and resumes at the next.
BUDGET_SECONDS = 120.0
SOURCE = "broadcast"
_METRICS = {EMAIL_SENT: "sent", EMAIL_OPENED: "opened", EMAIL_CLICKED: "clicked"}
SKIP_REASONS = (
    "excluded",
    "frequency_cap",
    "invalid_address",
    "suppressed",
    UNSUBSCRIBED,
    "no_consent",
    "cancelled",
)


@dataclass
class RunReport:
    planned: int = 0
    already: int = 0
    released: int = 0
    finished: list[str] = field(default_factory=list)


@dataclass
class Preview:
    """What a run would do now: the audience, who gets which variant when, who is skipped."""

    audience: int = 0
    sends: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    waves: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "audience": self.audience,
            "sends": dict(sorted(self.sends.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "waves": dict(sorted(self.waves.items())),
        }


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


class Broadcaster:
    def __init__(
        self,
        *,
        library: BroadcastLibrary,
        store: BroadcastStore,
        members: SegmentMembers,
        contacts: ContactStore,
        subscriptions: SubscriptionStore,
        templates: TemplateLibrary,
        queues: Queues,
        clock: Clock,
        page: int = PAGE,
        backlog: int = 2000,
    ) -> None:
        self.library = library
        self.store = store
        self.members = members
        self.contacts = contacts
        self.subscriptions = subscriptions
        self.templates = templates
        self.queues = queues
        self.clock = clock
        self.page = page
        self.backlog = backlog

    # --- what a marketer asks ----------------------------------------------------------

    def definition(self, broadcast_id: str) -> tuple[Broadcast, int]:
        found = self.library.newest(broadcast_id)
        if found is None:
            known = ", ".join(sorted(self.library.live())) or "none is published"
            raise NotFound(f"no published broadcast {broadcast_id!r} ({known})")
        return found

    def schedule(self, broadcast_id: str, at: str | None = None, by: str = "cli") -> dict:
        """Schedule the newest published version at its send_at, or at `at` (ISO time,
        local without an offset for a local-time broadcast, or `now`)."""
        broadcast, version = self.definition(broadcast_id)
        now = self.clock.now()
        when = now.replace(microsecond=0).isoformat() if at == "now" else at
        broadcast = self._at(broadcast, when)
        starts = plan.send_time(broadcast)
        if starts < now - PAST and at != "now":
            raise FormValidationError(
                [
                    FieldError(
                        "at",
                        f"{broadcast.send_at.isoformat()} has passed; give a later time or now",
                    )
                ]
            )
        state = self.store.schedule(
            broadcast_id, version, broadcast.send_at.isoformat(), starts, by, now
        )
        if state is None:
            current = self.store.get(broadcast_id)
            status = current.status if current else "unknown"
            raise Conflict(
                f"broadcast {broadcast_id} has already started ({status}); "
                "a broadcast goes to each contact once"
            )
        return self.status(broadcast_id)

    @staticmethod
    def _at(broadcast: Broadcast, at: str | None) -> Broadcast:
        if at is None:
            return broadcast
        try:
            return Broadcast.model_validate({**broadcast.to_body(), "send_at": at})
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise FormValidationError([FieldError("at", message)]) from None

    def cancel(self, broadcast_id: str) -> dict:
        if not self.store.cancel(broadcast_id, self.clock.now()):
            state = self.store.get(broadcast_id)
            if state is None:
                raise NotFound(f"broadcast {broadcast_id} was never scheduled")
            raise Conflict(f"broadcast {broadcast_id} is {state.status}: nothing left to cancel")
        return self.status(broadcast_id)

    def status(self, broadcast_id: str) -> dict[str, Any]:
        """The run's state with what its emails did, per variant and per skip reason."""
        state = self.store.get(broadcast_id)
        if state is None:
            draft, version = self.definition(broadcast_id)
            return {
                "id": broadcast_id,
                "name": draft.name,
                "version": version,
                "status": "draft",
                "send_at": draft.send_at.isoformat(),
            }
        broadcast = self.library.version(broadcast_id, int(state.version))
        arms = [v.id for v in broadcast.variants] if broadcast and broadcast.ab_test else []
        arms = arms or [plan.MAIN]
        keys = [(a, m) for a in arms for m in ("sent", "opened", "clicked")]
        keys += [("skipped", r) for r in SKIP_REASONS] + [("failed", "any")]
        counts = self.store.counts(broadcast_id, keys)
        variants = {a: {m: counts[(a, m)] for m in ("sent", "opened", "clicked")} for a in arms}
        skipped = {r: counts[("skipped", r)] for r in SKIP_REASONS if counts[("skipped", r)]}
        body = as_dict(state)
        body.update(
            name=broadcast.name if broadcast else broadcast_id,
            variants=variants,
            skipped=skipped,
            failed=counts[("failed", "any")],
        )
        return body

    def list(self) -> list[dict[str, Any]]:
        """Every published broadcast with its run, if it has one."""
        runs = {s.id: s for s in self.store.all()}
        out = []
        for broadcast_id, version in sorted(self.library.live().items()):
            b = self.library.version(broadcast_id, version)
            state = runs.pop(broadcast_id, None)
            out.append(
                {
                    "id": broadcast_id,
                    "name": b.name if b else broadcast_id,
                    "version": version,
                    "audience": b.audience.segment if b else None,
                    "status": state.status if state else "draft",
                    "send_at": state.send_at if state else (b.send_at.isoformat() if b else None),
                }
            )
        for state in runs.values():  # runs whose file was since removed
            out.append(
                {
                    "id": state.id,
                    "name": state.id,
                    "version": int(state.version),
                    "audience": None,
                    "status": state.status,
                    "send_at": state.send_at,
                }
            )
        return out

    def preview(self, broadcast_id: str, at: str | None = None) -> Preview:
        """Decide every contact of the audience as a run would now, writing nothing."""
        broadcast, _ = self.definition(broadcast_id)
        broadcast = self._at(broadcast, at)
        out = Preview()
        after = None
        while True:
            page, after = self.members.page(broadcast.audience.segment, self.page, after)
            for decided in self._decide(broadcast, [m.contact_id for m in page]).values():
                out.audience += 1
                if isinstance(decided, plan.Skip):
                    out.skipped[decided.reason] += 1
                else:
                    out.sends[decided.variant] += 1
                    out.waves[decided.at.isoformat()] += 1
            if after is None:
                return out

    # --- the run ----------------------------------------------------------------------

    def run_due(
        self, max_pages: int | None = None, budget_seconds: float = BUDGET_SECONDS
    ) -> RunReport:
        """Advance every broadcast whose time has come (the tick calls this); planning
        stops after `max_pages` pages or `budget_seconds` and resumes at the next call."""
        report = RunReport()
        deadline = time.monotonic() + budget_seconds
        for state in self.store.due(self.clock.now()):
            self.advance(state, report, max_pages, deadline)
        return report

    def advance(
        self,
        state: BroadcastModel,
        report: RunReport,
        max_pages: int | None = None,
        deadline: float = float("inf"),
    ) -> None:
        broadcast = self.library.version(state.id, int(state.version))
        if broadcast is None:
            log.error("broadcast %s v%s is not stored; cancelling it", state.id, state.version)
            self.store.cancel(state.id, self.clock.now())
            return
        broadcast = Broadcast.model_validate({**broadcast.to_body(), "send_at": state.send_at})
        if state.status in (Status.SCHEDULED, Status.PLANNING):
            if self.clock.now() < state.starts_at:
                return
            state = self._plan(broadcast, state, report, max_pages, deadline)
        if state is not None and state.status == Status.SENDING:
            self._release(broadcast, state, report)

    def _plan(
        self,
        broadcast: Broadcast,
        state: BroadcastModel,
        report: RunReport,
        max_pages: int | None,
        deadline: float,
    ) -> BroadcastModel | None:
        pages = 0
        current: BroadcastModel | None = state
        while current is not None and current.status in (Status.SCHEDULED, Status.PLANNING):
            now = self.clock.now()
            page, after = self.members.page(broadcast.audience.segment, self.page, current.cursor)
            decided = self._decide(broadcast, [m.contact_id for m in page])
            plans = [self._planned(broadcast, cid, d, now) for cid, d in decided.items()]
            written = self.store.write_plan(broadcast.id, plans, now)
            report.planned += len(written.new)
            report.already += written.existing
            cursor = page[-1].contact_id if page else current.cursor
            current = self._record(current, written.new, cursor, after is None)
            pages += 1
            if after is None or (max_pages is not None and pages >= max_pages):
                break
            if time.monotonic() > deadline:
                break
        return current

    def _record(
        self, state: BroadcastModel, new: list[Planned], cursor: str | None, finished: bool
    ) -> BroadcastModel | None:
        """Add a page's new plans to the run; merged again on a fresh read if another run
        moved it meanwhile, so no wave is ever forgotten."""
        waves = Counter(p.at.isoformat() for p in new if p.at is not None)
        fresh: BroadcastModel | None = state
        while fresh is not None and fresh.status in Status.ACTIVE:
            merged = Counter(plain_waves(fresh)) + waves
            fresh.waves = dict(merged)
            fresh.planned = int(fresh.planned or 0) + len(new)
            if cursor is not None and (fresh.cursor is None or cursor > fresh.cursor):
                fresh.cursor = cursor
            if finished and fresh.status != Status.SENDING:
                fresh.status = Status.SENDING
                fresh.due_at = self._next_wave(fresh) or self.clock.now()
            elif fresh.status == Status.SCHEDULED:
                fresh.status = Status.PLANNING
            if self.store.save(fresh, self.clock.now()):
                return fresh
            fresh = self.store.get(state.id)
        return None  # cancelled meanwhile

    def _decide(
        self, broadcast: Broadcast, contact_ids: list[str]
    ) -> dict[str, plan.Send | plan.Skip]:
        contacts = self.contacts.get_many(contact_ids)
        suppressed = self.subscriptions.suppressions(
            [str(c["email"]) for c in contacts.values() if c.get("email")]
        )
        histories = self.store.histories(list(contacts)) if broadcast.frequency_cap else {}
        topics = self.templates.settings().consent_topics
        out: dict[str, plan.Send | plan.Skip] = {}
        for cid in contact_ids:
            contact = contacts.get(cid)
            if contact is None:
                continue  # erased since it joined the segment
            address = str(contact.get("email") or "").lower()
            skip = eligibility.check(
                contact,
                topic=broadcast.email.topic,
                transactional=False,
                suppression=suppressed.get(address),
                consent_topics=topics,
            )
            if skip is not None:
                out[cid] = plan.Skip(skip.reason, skip.detail)
            else:
                out[cid] = plan.decide(broadcast, contact, histories.get(cid, ()))
        return out

    def _planned(
        self, broadcast: Broadcast, contact_id: str, decided: plan.Send | plan.Skip, now: datetime
    ) -> Planned:
        if isinstance(decided, plan.Send):
            return Planned(contact_id, decided.variant, decided.at, history=True)
        key = ledger_key(broadcast.id, contact_id)
        event = Event(
            contact_id=contact_id,
            event_id=ids.derived_event_id(now, key, EMAIL_SKIPPED),
            type=EMAIL_SKIPPED,
            occurred_at=now,
            source=SOURCE,
            properties={
                "broadcast": broadcast.id,
                "template": broadcast.email.template,
                "topic": broadcast.email.topic,
                "ledger": key,
                "reason": decided.reason,
                "detail": decided.detail,
            },
        )
        return Planned(contact_id, plan.variant(broadcast, contact_id), skipped=event)

    def _next_wave(self, state: BroadcastModel) -> datetime | None:
        left = [w for w in plain_waves(state) if w not in (state.released or [])]
        return min((_parse(w) for w in left), default=None)

    def _release(self, broadcast: Broadcast, state: BroadcastModel, report: RunReport) -> None:
        now = self.clock.now()
        due = sorted(
            w for w in plain_waves(state) if w not in (state.released or []) and _parse(w) <= now
        )
        current: BroadcastModel | None = state
        room = self.backlog - self.queues.depth(SENDS) if due else 0
        for wave in due:
            at = _parse(wave)
            judged = plan.winner_time(broadcast)
            if current is not None and judged and at >= judged and current.winner is None:
                verdict = plan.judge(broadcast, self._arms(broadcast))
                current.winner, current.winner_reason = verdict.winner, verdict.reason
                if not self.store.save(current, now):
                    return  # another run moved it; it carries on from its own read
            while current is not None:
                if room <= 0:
                    return  # the queue holds enough for now; the next tick hands over more
                limit = min(self.page, room)
                rows, after = self.store.wave(broadcast.id, at, current.release_cursor, limit)
                self.queues.send_many(SENDS, (self._message(broadcast, current, r) for r in rows))
                report.released += len(rows)
                room -= len(rows)
                current.release_cursor = after
                if after is None:
                    current.released = [*(current.released or []), wave]
                if not self.store.save(current, self.clock.now()):
                    return
                if after is None:
                    break
        if current is None:
            return
        nxt = self._next_wave(current)
        if nxt is None:
            current.status = Status.SENT
            current.finished_at = self.clock.now()
            current.due_shard = None
            current.due_at = None
            report.finished.append(current.id)
        else:
            current.due_at = nxt
        self.store.save(current, self.clock.now())

    def _arms(self, broadcast: Broadcast) -> dict[str, plan.Arm]:
        arms = [v.id for v in broadcast.variants]
        counts = self.store.counts(
            broadcast.id, [(a, m) for a in arms for m in ("sent", "opened", "clicked")]
        )
        return {
            a: plan.Arm(a, counts[(a, "sent")], counts[(a, "opened")], counts[(a, "clicked")])
            for a in arms
        }

    def _message(
        self, broadcast: Broadcast, state: BroadcastModel, row: BroadcastSendModel
    ) -> dict[str, Any]:
        arm = state.winner if row.variant == plan.WINNER else row.variant
        chosen = next((v for v in broadcast.variants if v.id == arm), None)
        email = broadcast.email
        body = {
            "contact_id": row.contact_id,
            "ledger": ledger_key(broadcast.id, row.contact_id),
            "template": (chosen.template if chosen else None) or email.template,
            "subject": (chosen.subject if chosen else None) or email.subject,
            "from": email.from_,
            "reply_to": email.reply_to,
            "topic": email.topic,
            "broadcast": broadcast.id,
            "variant": arm,
            "campaign": broadcast.id,
        }
        return {k: v for k, v in body.items() if v is not None}

    # --- the pipeline handler: what the emails did ---------------------------------------

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        """Count each broadcast email's send, opener, clicker, skip and failure once."""
        broadcast_id = event.properties.get("broadcast")
        if not broadcast_id:
            return
        contact, now = event.contact_id, ctx.now()
        if event.type == EMAIL_SKIPPED:
            reason = str(event.properties.get("reason") or "other")
            self.store.count_once(broadcast_id, "skipped", ("skipped", reason), contact, now)
        elif event.type == EMAIL_FAILED:
            self.store.count_once(broadcast_id, "failed", ("failed", "any"), contact, now)
        elif event.type in _METRICS:
            metric = _METRICS[event.type]
            arm = str(event.properties.get("variant") or plan.MAIN)
            self.store.count_once(broadcast_id, metric, (arm, metric), contact, now)
