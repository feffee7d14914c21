"""Hand-off against the store: assign a hot lead, recycle it past its SLA, remind about it.

A lead is handed off when it becomes SQL or a journey step asks for it. The dispatcher routes
it (routing.py), takes the team's next turn from an atomic counter, and commits in one
transaction: the owner on the contact, the owner's open-lead counter (refused at capacity: the
next owner is tried), `lead_assigned`, the SLA timer, and the notices (the owner's email, the
team's channels). A lead nobody accepts within its SLA goes back to the shared pool and is
routed again, never to the same owner; the manager is told. An accepted lead without a
follow-up for `follow_up_within` reminds the owner and the manager. By hand, a manager gives a
lead to a named owner (`reassignment`) and an owner gives one back to be routed again
(`release`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.content.emails import HANDOFF_TEMPLATE
from chalicelib.errors import Busy, Conflict, FieldError, FormValidationError, NotFound
from chalicelib.events import (
    FOLLOW_UP_REMINDED,
    HANDOFF_REQUESTED,
    LEAD_ASSIGNED,
    LEAD_FOLLOW_UP_DUE,
    LEAD_REASSIGNED,
    LEAD_RECYCLED,
    LEAD_RELEASED,
    LEAD_SLA_EXPIRED,
    LEAD_UNASSIGNED,
    STAGE_CHANGED,
    Event,
)
from chalicelib.leads import ownership, routing, worktime
from chalicelib.leads.ownership import lead_of
from chalicelib.leads.routing import Locale, Owner, Route, Routing
from chalicelib.messaging.tokens import Signer
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.services import notices
from chalicelib.services.notices import Deliveries
from chalicelib.store import counters as counter_keys
from chalicelib.store import optimistic
from chalicelib.store.changes import (
    AlreadyDone,
    Change,
    CounterFull,
    CounterMove,
    Timer,
    commit,
)
from chalicelib.store.contacts import ContactStore
from chalicelib.store.counters import Counters
from chalicelib.store.event_log import EventStore
from chalicelib.store.lead_library import LeadLibrary
from chalicelib.store.optimistic import Stale

log = logging.getLogger(__name__)
BY_HAND = "by hand"
# What an owner's lead holds only while it is theirs (left behind when it goes to the pool).
OWNER_FIELDS = (
    "owner",
    "owner_name",
    "owner_email",
    "assigned_at",
    "sla_due_at",
    "accepted_at",
    "last_follow_up_at",
)
"""The `rule` of a lead a person assigned."""


@dataclass(frozen=True)
class Taken:
    """A lead taken from its owner: let lapse past its SLA (`lead_recycled`), given back
    (`lead_released`), both routed again, or moved by hand (`lead_reassigned`)."""

    owner: str
    owner_name: str
    reason: str
    kind: str = LEAD_RECYCLED
    by: str | None = None
    """Who moved it, when a person did (a manager, an admin, the owner)."""
    team: str | None = None
    """The team it was with (the report counts the move there, wherever the lead goes)."""

    def event_properties(self, to: str | None) -> dict[str, Any]:
        props = {"owner": self.owner, "owner_name": self.owner_name, "reason": self.reason}
        return {**props, "to": to, "team": self.team, **({"by": self.by} if self.by else {})}

    def given_back(self) -> str:
        """`Ada Park gave it back`, or `Morgan gave Ada Park's lead back` (for them)."""
        if self.by in (None, self.owner, self.owner_name):
            return f"{self.owner_name} gave it back"
        return f"{self.by} gave {self.owner_name}'s lead back"

    @classmethod
    def of(cls, lead: dict[str, Any], reason: str, kind: str, by: str | None = None) -> Taken:
        owner = str(lead["owner"])
        name = str(lead.get("owner_name") or owner)
        return cls(owner, name, reason, kind, by, lead.get("team"))


class Dispatcher:
    def __init__(
        self,
        *,
        library: LeadLibrary,
        contacts: ContactStore,
        events: EventStore,
        counters: Counters,
        clock: Clock,
        signer: Signer,
        public_url: str,
        event_shards: int,
        timer_shards: int,
    ) -> None:
        self.library = library
        self.contacts = contacts
        self.events = events
        self.counters = counters
        self.clock = clock
        self.signer = signer
        self.public_url = public_url
        self.event_shards = event_shards
        self.timer_shards = timer_shards

    # --- the pipeline ------------------------------------------------------------------------

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        routing_ = self.library.routing()
        if routing_ is None or not event.contact_id.startswith("ct_"):
            return
        props = event.properties
        cid = event.contact_id
        if event.type == STAGE_CHANGED and props.get("to") == "sql":
            self._settle(cid, lambda c: self._assign(routing_, c, event, "became SQL"))
        elif event.type == HANDOFF_REQUESTED:
            reason = props.get("reason") or f"journey {props.get('journey')} asked for a hand-off"
            team = props.get("team")
            self._settle(cid, lambda c: self._assign(routing_, c, event, reason, team=team))
        elif event.type == LEAD_SLA_EXPIRED:
            self._settle(cid, lambda c: self._recycle(routing_, c, event))
        elif event.type == LEAD_FOLLOW_UP_DUE:
            self._settle(cid, lambda c: self._remind(routing_, c, event))

    def _settle(
        self, contact_id: str, decide: Callable[[dict[str, Any]], Any], must_exist: bool = False
    ) -> Any:
        """Decide on a fresh read and commit (answering what `decide` answers); after a lost
        race, read again."""
        for attempt in range(optimistic.ATTEMPTS):
            contact = self.contacts.get(contact_id)
            if contact is None:
                if must_exist:
                    raise NotFound(f"no contact {contact_id!r}")
                return None
            try:
                return decide(contact)
            except AlreadyDone:
                return None
            except Stale:
                optimistic.pause(attempt)
                continue
        raise Busy(f"contact {contact_id} kept changing during a hand-off")

    # --- decisions ---------------------------------------------------------------------------

    def _assign(
        self,
        routing_: Routing,
        contact: dict[str, Any],
        cause: Event,
        reason: str,
        *,
        team: str | None = None,
        taken: Taken | None = None,
    ) -> Change | None:
        """Route the lead and commit its assignment (or its place in the pool): the change
        committed; None if it already has an owner."""
        if ownership.is_open(contact) and taken is None:
            log.info("%s already belongs to %s", contact["id"], lead_of(contact).get("owner"))
            return None
        now = self.clock.now()
        lead = lead_of(contact)
        exclude = set(lead.get("previous_owners") or ())
        if taken is not None:
            exclude.add(taken.owner)
        route = routing.route(routing_, contact, now, team)
        turn = self.counters.next(counter_keys.turn_key(route.team.id))
        for owner in routing.candidates(route.team, turn, now, exclude):
            change = self._assignment(routing_, contact, cause, route, owner, reason, taken)
            try:
                commit(change, now, self.event_shards, self.timer_shards)
            except CounterFull:
                log.info("%s is at capacity; trying the next owner", owner.id)
                continue
            return change
        return self._to_pool(routing_, contact, cause, route, taken)

    def _assignment(
        self,
        routing_: Routing,
        contact: dict[str, Any],
        cause: Event,
        route: Route,
        owner: Owner,
        reason: str,
        taken: Taken | None,
    ) -> Change:
        now = self.clock.now()
        cid = contact["id"]
        before = lead_of(contact)
        previous = list(before.get("previous_owners") or ())
        if taken is not None:
            previous.append(taken.owner)
        previous = [p for p in dict.fromkeys(previous) if p != owner.id]  # who had it before
        due = worktime.deadline(now, route.sla, route.team.business_hours)
        locale = routing_.locale(owner.id)
        lead = {
            "status": ownership.ASSIGNED,
            "owner": owner.id,
            "owner_name": owner.name,
            "owner_email": owner.email,
            "team": route.team.id,
            "rule": route.rule,
            "reason": reason,
            "assigned_at": now.isoformat(),
            "sla_due_at": due.isoformat(),
            "previous_owners": previous,
        }
        if before.get("opportunity"):  # a deal opened goes with the lead
            lead["opportunity"] = before["opportunity"]
        change = Change.of(contact, lead=lead)
        change.counters.append(
            CounterMove(counter_keys.open_leads_key(owner.id), 1, owner.capacity)
        )
        facts = {
            "owner": owner.id,
            "owner_name": owner.name,
            "team": route.team.id,
            "team_name": route.team.name or route.team.id,
            "rule": route.rule,
            "routed_because": route.reason,
            "reason": reason,
            "sla_due_at": due.isoformat(),
            "accept_by": locale.time(due),
            "was": before.get("status"),  # "pool": the lead leaves the shared pool
            "from_team": before.get("team"),  # whose pool, when it was in one
        }
        if taken is not None:
            change.counters.append(CounterMove(counter_keys.open_leads_key(taken.owner), -1))
            change.events.append(
                ownership.event(cid, cause, taken.kind, taken.event_properties(owner.id), now)
            )
            change.cancel.append(ownership.FOLLOW_UP_TIMER)  # the SLA timer is set anew below
        change.events.append(ownership.event(cid, cause, LEAD_ASSIGNED, facts, now))
        change.timers.append(Timer(ownership.SLA_TIMER, LEAD_SLA_EXPIRED, due, {"owner": owner.id}))
        summary = self._summary(contact, owner)
        out = Deliveries()
        title = handoff_title(summary, locale.language)
        handoff = notices.notice("lead.assigned", title, summary, owner=facts)
        notices.deliver(
            out,
            cid,
            cause,
            "handoff",
            handoff,
            now,
            emails=[owner.email],
            channels=route.team.notify,
            template=HANDOFF_TEMPLATE,
            context={
                # The email's button is the owner's own link, signed by the sender as it sends;
                # the channels get the accept link.
                "lead": {**summary, "link": None},
                ownership.OWN_LINK_FOR: owner.id,
                "owner": {**owner.model_dump(mode="json"), "language": locale.language},
            },
        )
        if taken is not None and taken.kind != LEAD_REASSIGNED and route.team.manager is not None:
            # No link: the summary's accepts the lead for its new owner.
            told = _manager_notice(taken, {**summary, "link": None}, owner)
            notices.deliver(
                out, cid, cause, "recycled", told, now, emails=[route.team.manager.email]
            )
        if taken is not None and taken.kind == LEAD_REASSIGNED and before.get("owner_email"):
            title = f"Moved to {owner.name}: {summary['name']} (by {taken.by or 'a manager'})"
            # No link: the one in the summary accepts the lead for its new owner.
            unlinked = {**summary, "link": None}
            moved = notices.notice("lead.reassigned", title, unlinked, moved=facts)
            emails = [str(before["owner_email"])]
            notices.deliver(out, cid, cause, "reassigned", moved, now, emails=emails)
        change.effects += out.effects
        change.events += out.events
        return change

    def _to_pool(
        self,
        routing_: Routing,
        contact: dict[str, Any],
        cause: Event,
        route: Route,
        taken: Taken | None,
    ) -> Change:
        """Nobody can take the lead now: it waits in the shared pool; the manager is told."""
        now = self.clock.now()
        cid = contact["id"]
        lead = {**lead_of(contact), "status": ownership.POOL, "team": route.team.id}
        for name in OWNER_FIELDS:
            lead.pop(name, None)
        if taken is not None:
            previous = [*lead.get("previous_owners", []), taken.owner]
            lead["previous_owners"] = list(dict.fromkeys(previous))
        why = "every owner is away, at capacity or already had this lead"
        if taken is not None and taken.kind == LEAD_RELEASED:
            why = f"{taken.given_back()} ({taken.reason}); {why}"
        lead["reason"] = why
        change = Change.of(contact, lead=lead)
        before = lead_of(contact)
        props = {"team": route.team.id, "why": why, "was": before.get("status")}
        props["from_team"] = before.get("team")  # a pool lead moved to another team's pool
        if taken is not None:
            change.counters.append(CounterMove(counter_keys.open_leads_key(taken.owner), -1))
            change.events.append(
                ownership.event(cid, cause, taken.kind, taken.event_properties(None), now)
            )
            change.cancel += [ownership.SLA_TIMER, ownership.FOLLOW_UP_TIMER]
        change.events.append(ownership.event(cid, cause, LEAD_UNASSIGNED, props, now))
        if route.team.manager is not None:
            summary = self._summary(contact, None)
            out = Deliveries()
            told = notices.notice(
                "lead.unassigned", f"In the shared pool: {summary['name']} ({why})", summary
            )
            notices.deliver(out, cid, cause, "pool", told, now, emails=[route.team.manager.email])
            change.effects += out.effects
            change.events += out.events
        commit(change, now, self.event_shards, self.timer_shards)
        return change

    def _recycle(self, routing_: Routing, contact: dict[str, Any], cause: Event) -> None:
        lead = lead_of(contact)
        owner = cause.properties.get("owner")
        if lead.get("status") != ownership.ASSIGNED or lead.get("owner") != owner:
            return  # accepted, closed or reassigned since the timer was set
        taken = Taken.of(lead, f"not accepted by {lead.get('sla_due_at')}", LEAD_RECYCLED)
        self._assign(routing_, contact, cause, "recycled from the shared pool", taken=taken)

    # --- by hand -----------------------------------------------------------------------------

    def reassignment(
        self, contact: dict[str, Any], owner_id: str, by: str, reason: str | None, cause: Event
    ) -> Change:
        """The lead given to `owner_id` by hand (a manager's call), to commit: from the pool,
        from another owner (`lead_reassigned`) or as a contact's first hand-off. A new SLA
        clock starts and the owner gets the hand-off as from routing; the owner's capacity
        holds (the commit raises CounterFull)."""
        routing_ = self._published()
        placed = routing_.owner(owner_id)
        if placed is None:
            message = f"no owner {owner_id[:64]!r} in routing.yaml"
            raise FormValidationError([FieldError("owner", message)])
        team, owner = placed
        lead = lead_of(contact)
        status = lead.get("status")
        if status in ownership.CLOSED:
            raise Conflict(f"the lead is {status}; a closed lead is not assigned again")
        if status in ownership.OPEN and lead.get("owner") == owner.id:
            raise Conflict(f"the lead is already with {owner.name}")
        why = reason or f"assigned by {by}"
        taken = Taken.of(lead, why, LEAD_REASSIGNED, by) if status in ownership.OPEN else None
        route = Route(team, BY_HAND, f"assigned by {by}", routing.sla_for(routing_, team))
        return self._assignment(routing_, contact, cause, route, owner, why, taken)

    def release(
        self,
        contact_id: str,
        reason: str,
        by: str,
        check: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> tuple[str, dict[str, Any]]:
        """The owner gives the lead back (`lead_released`): it is routed again by the rules,
        never to them, or waits in the pool; the manager is told. `check` refuses a caller
        who may not (raising) and answers the lead. Answers the `lead_released` event's id and
        the lead as it is now."""
        routing_ = self._published()

        def decide(contact: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            lead = check(contact)
            if lead.get("status") not in ownership.OPEN:
                raise Conflict("the lead is not open (assigned or accepted): nothing to give back")
            now = self.clock.now()
            cause = Event(contact_id, ids.event_id(now), LEAD_RELEASED, now, ownership.SOURCE)
            taken = Taken.of(lead, reason, LEAD_RELEASED, by)
            why = f"{taken.given_back()}: {reason}"
            change = self._assign(routing_, contact, cause, why, taken=taken)
            assert change is not None  # a lead taken from its owner always goes somewhere
            released = next(e for e in change.events if e.type == LEAD_RELEASED)
            return released.event_id, change.attributes["lead"]

        return self._settle(contact_id, decide, must_exist=True)

    def _published(self) -> Routing:
        routing_ = self.library.routing()
        if routing_ is None:
            raise Conflict("no routing is published: publish marketing/routing.yaml first")
        return routing_

    def _remind(self, routing_: Routing, contact: dict[str, Any], cause: Event) -> None:
        lead = lead_of(contact)
        if lead.get("status") != ownership.ACCEPTED or lead.get("owner") != cause.properties.get(
            "owner"
        ):
            return
        now = self.clock.now()
        last = lead.get("last_follow_up_at") or lead.get("accepted_at")
        quiet_since = datetime.fromisoformat(last) if last else now
        due = quiet_since + routing_.follow_up_within
        change = Change.of(contact)
        if due > now:  # a follow-up came in after the timer was set
            change.timers.append(
                Timer(
                    ownership.FOLLOW_UP_TIMER,
                    LEAD_FOLLOW_UP_DUE,
                    due,
                    {"owner": lead["owner"]},
                )
            )
            commit(change, now, self.event_shards, self.timer_shards)
            return
        placed = routing_.owner(str(lead["owner"]))
        owner = placed[1] if placed else None
        manager = placed[0].manager if placed else None
        days = (now - quiet_since).days
        summary = self._summary(contact, owner)
        title = f"No follow-up for {days} days: {summary['name']}"
        change.events.append(
            ownership.event(
                contact["id"],
                cause,
                FOLLOW_UP_REMINDED,
                {"owner": lead["owner"], "days": days},
                now,
            )
        )
        out = Deliveries()
        emails = [e for e in (lead.get("owner_email"), manager.email if manager else None) if e]
        reminder = notices.notice("lead.follow_up_due", title, summary, days=days)
        notices.deliver(
            out,
            contact["id"],
            cause,
            "reminder",
            reminder,
            now,
            emails=emails,
            channels=placed[0].notify if placed else (),
        )
        change.effects += out.effects
        change.events += out.events
        change.timers.append(
            Timer(
                ownership.FOLLOW_UP_TIMER,
                LEAD_FOLLOW_UP_DUE,
                now + routing_.follow_up_within,
                {"owner": lead["owner"]},
            )
        )
        commit(change, now, self.event_shards, self.timer_shards)

    # --- the summary ---------------------------------------------------------------------------

    def accept_url(self, contact_id: str, owner_id: str) -> str:
        token = self.signer.sign(ownership.ACCEPT_PURPOSE, contact_id, owner_id)
        return f"{self.public_url}/accept/{token}"

    def _summary(self, contact: dict[str, Any], owner: Owner | None) -> dict[str, Any]:
        timeline = self.events.timeline(contact["id"], limit=50, newest_first=True)
        link = (
            self.accept_url(contact["id"], owner.id)
            if owner is not None
            else f"{self.public_url}/contacts/{contact['id']}"
        )
        routing = self.library.routing()
        locale = routing.locale(owner.id) if routing and owner else Locale()
        return notices.lead_summary(
            contact, self.library.scoring(), timeline, link, locale.timezone, locale.language
        )


def _manager_notice(taken: Taken, summary: dict[str, Any], now_with: Owner) -> notices.Notice:
    """What the manager reads when a lead moves on from an owner who did not keep it."""
    name, by, facts = summary["name"], taken.owner_name, taken.event_properties(now_with.id)
    if taken.kind == LEAD_RELEASED:
        title = f"Given back: {by} released {name} ({taken.reason}); now with {now_with.name}"
        return notices.notice("lead.released", title, summary, released=facts)
    title = f"Recycled: {name} was not accepted by {by} in time; now with {now_with.name}"
    return notices.notice("lead.recycled", title, summary, recycled=facts)


def handoff_title(summary: dict[str, Any], language: str) -> str:
    """The hand-off's subject (and chat title), in the owner's language."""
    name, company, score = summary["name"], summary.get("company"), summary["score"]
    if language == "zh-CN":
        return f"新线索：{name}" + (f"（{company}）" if company else "") + f"，评分 {score}"
    return f"New lead for you: {name}" + (f" ({company})" if company else "") + f", score {score}"
