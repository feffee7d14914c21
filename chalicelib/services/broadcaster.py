"""Running a broadcast: plan the audience once, release each wave when its time comes, and
judge an A/B test.

The tick calls `run_due`. A run that is due pages through the audience (the segment's
member table, never the contacts), decides each contact (`broadcasts/plan.py`, the sender's
eligibility rules) and writes the plans a page at a time with its cursor, so an interrupted
run resumes where it stopped and a second run writes nothing twice. Then each wave (the
contacts who get the email at one instant) goes to the sends queue when its instant comes, a
backlog's worth at a time; the sender claims each email's ledger entry, so a wave handed over
twice sends once, paced to the SES rate like every email.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.broadcasts import plan
from chalicelib.broadcasts.language import Broadcast
from chalicelib.clock import Clock
from chalicelib.events import EMAIL_SKIPPED, Event
from chalicelib.messaging import eligibility
from chalicelib.messaging.queues import SENDS, Queues
from chalicelib.store.broadcast_library import BroadcastLibrary
from chalicelib.store.broadcasts import BroadcastStore, Planned, Status, ledger_key, plain_waves
from chalicelib.store.contacts import ContactStore
from chalicelib.store.models import BroadcastModel, BroadcastSendModel
from chalicelib.store.segments import SegmentMembers
from chalicelib.store.subscriptions import SubscriptionStore
from chalicelib.store.template_library import TemplateLibrary

log = logging.getLogger(__name__)
PAGE = 100
# Planning stops after this long in one tick and resumes at the next: ticks come every
# minute, and one that ran longer would plan beside the next.
BUDGET_SECONDS = 45.0
SOURCE = "broadcast"


@dataclass
class RunReport:
    planned: int = 0
    already: int = 0
    released: int = 0
    finished: list[str] = field(default_factory=list)


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
        # The run's own send_at (its schedule may have moved it): checked when it was scheduled.
        broadcast = broadcast.model_copy(update={"send_at": _parse(state.send_at)})
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
            decided = self.decide(broadcast, [m.contact_id for m in page])
            plans = [self._planned(broadcast, cid, d, now) for cid, d in decided.items()]
            written = self.store.write_plan(broadcast.id, plans, now)
            report.planned += len(written.new)
            report.already += written.existing
            cursor = page[-1].contact_id if page else current.cursor
            current = self._record(current, plans, written.new, cursor, after is None)
            pages += 1
            if after is None or (max_pages is not None and pages >= max_pages):
                break
            if time.monotonic() > deadline:
                break
        return current

    def _record(
        self,
        state: BroadcastModel,
        page: list[Planned],
        new: list[Planned],
        cursor: str | None,
        finished: bool,
    ) -> BroadcastModel | None:
        """Add a page's plans to the run; merged again on a fresh read if another run moved
        it meanwhile. Every instant of the page becomes a wave, even one whose plans an
        interrupted run had written (it never counted them), and a wave that gets plans after
        it was released is released again (its earlier emails are refused by their claims)."""
        waves = Counter(p.at.isoformat() for p in new if p.at is not None)
        instants = {p.at.isoformat() for p in page if p.at is not None}
        fresh: BroadcastModel | None = state
        while fresh is not None and fresh.status in Status.ACTIVE:
            merged = Counter(plain_waves(fresh)) + waves
            fresh.waves = {**dict.fromkeys(instants, 0), **merged}
            fresh.released = [w for w in fresh.released or [] if w not in instants]
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

    def decide(
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
        judged = plan.winner_time(broadcast)
        for wave in due:
            at = _parse(wave)
            if current is not None and judged and at >= judged and current.winner is None:
                # `wait` after the test went, even when planning a large audience delayed it.
                ready = current.tested_at + broadcast.ab_test.wait if current.tested_at else now
                if now < ready:
                    current.due_at = ready
                    self.store.save(current, now)
                    return
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
                    if judged and at < judged:
                        current.tested_at = self.clock.now()
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
