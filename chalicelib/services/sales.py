"""What salespeople do with a lead: accept it, log follow-ups, disqualify it, open an
opportunity, win or lose the deal, give it back; and what their managers do: assign it to a
named owner. Each action is one conditional write with its event.

Accepting stops the SLA clock and starts the follow-up one; each follow-up moves it on.
Closing a lead (disqualified, won, lost) frees a place in the owner's capacity. Assigning and
giving back go through the dispatcher, which owns routing, capacity and the hand-off notices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib import ids, roles
from chalicelib.errors import (
    Conflict,
    FieldError,
    Forbidden,
    FormValidationError,
    NotFound,
)
from chalicelib.events import (
    CONTACT_UPDATED,
    DEAL_LOST,
    DEAL_WON,
    FOLLOW_UP_LOGGED,
    LEAD_ACCEPTED,
    LEAD_DISQUALIFIED,
    LEAD_FOLLOW_UP_DUE,
    OPPORTUNITY_CREATED,
    Event,
)
from chalicelib.leads import fields as contact_fields
from chalicelib.leads import money, ownership
from chalicelib.leads.ownership import lead_of
from chalicelib.lifecycle import Mover, Stage
from chalicelib.roles import Caller
from chalicelib.services.dispatcher import Dispatcher
from chalicelib.services.scorekeeper import stage_event
from chalicelib.store import counters as counter_keys
from chalicelib.store.changes import Change, CounterFull, CounterMove, Timer
from chalicelib.store.lead_library import LeadLibrary
from chalicelib.store.writer import ContactWriter

FOLLOW_UP_KINDS = ("call", "email", "meeting", "message", "note")
MAX_TEXT = 2000


class LeadStateError(Conflict):
    """The action does not fit where the lead is (accepting a lead nobody was given...)."""


@dataclass(frozen=True)
class Done:
    contact_id: str
    event_id: str
    lead: dict[str, Any]


def _text(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
        message = f"must be text of at most {MAX_TEXT} characters"
        raise FormValidationError([FieldError(name, message)])
    text = (value or "").strip()
    if not text:
        if required:
            raise FormValidationError([FieldError(name, "is required")])
        return None
    return text


def _amount(body: dict[str, Any], required: bool) -> Decimal | None:
    raw = body.get("amount")
    if raw is None:
        if required:
            raise FormValidationError([FieldError("amount", "is required")])
        return None
    return money.amount(raw)


def _currency(body: dict[str, Any]) -> str:
    return money.currency(body.get("currency"))


Plan = Callable[[dict[str, Any], dict[str, Any], Event, datetime], Change]


class SalesDesk:
    def __init__(self, library: LeadLibrary, writer: ContactWriter, dispatcher: Dispatcher) -> None:
        self.library = library
        self.writer = writer
        self.dispatcher = dispatcher

    def act(
        self, contact_id: str, action: str, body: dict[str, Any], caller: Caller | None = None
    ) -> Done:
        """Run a sales action. A sales key may act only on leads it owns, and always as their
        owner; a sales manager's only on its team's. Any other lead is "no such contact"
        (404), which leaks nothing."""
        if action == "assign" and caller is not None and caller.role == roles.SALES:
            raise Forbidden("a sales key cannot assign leads; `release` gives one back")
        if caller is not None and caller.role == roles.SALES:
            body = {**body, "owner": caller.owner}
        if action == "release":
            return self._release(contact_id, body, caller)
        plan = {
            "accept": self._accept,
            "follow-ups": self._follow_up,
            "disqualify": self._disqualify,
            "opportunity": self._opportunity,
            "won": self._won,
            "lost": self._lost,
            "fields": self._fields,
            "assign": self._assignment(caller),
        }.get(action)
        if plan is None:
            raise NotFound(f"no lead action {action!r}")
        read: dict[str, Any] = {}

        def decide(contact: dict[str, Any], now: datetime) -> Change:
            if caller is not None and not caller.sees(lead_of(contact)):
                raise NotFound(f"no contact {contact_id!r}")
            read["contact"] = contact
            cause = Event(contact_id, ids.event_id(now), action, now, ownership.SOURCE)
            return plan(contact, body, cause, now)

        try:
            change = self.writer.write(contact_id, decide, must_exist=True)
        except CounterFull as exc:  # only an assignment moves an owner's counter up
            raise LeadStateError(f"{body.get('owner')} is at capacity (routing.yaml)") from exc
        assert change is not None  # a sales action is a fresh cause: never already done
        lead = change.attributes.get("lead", lead_of(read["contact"]))
        return Done(contact_id, change.events[0].event_id if change.events else "", lead)

    def _release(self, contact_id: str, body: dict[str, Any], caller: Caller | None) -> Done:
        """The owner gives the lead back, to be routed again (a sales key, its own only)."""
        reason = _text(body, "reason", required=True) or ""

        def check(contact: dict[str, Any]) -> dict[str, Any]:
            lead = lead_of(contact)
            if caller is not None and not caller.sees(lead):
                raise NotFound(f"no contact {contact_id!r}")
            if lead.get("status") in ownership.OPEN:
                self._owner_check(lead, body)
            return lead

        event_id, lead = self.dispatcher.release(contact_id, reason, _who(caller, body), check)
        if caller is not None and not caller.sees(lead):  # where it went is not theirs to see
            lead = {"status": lead.get("status"), "released": True}
        return Done(contact_id, event_id, lead)

    def _assignment(self, caller: Caller | None) -> Plan:
        """A manager (or an admin) gives the lead to a named owner; a sales manager only to
        one of its own team."""

        def plan(contact, body, cause, now) -> Change:
            holder = lead_of(contact).get("owner") or ""
            if "expected_owner" in body and body["expected_owner"] != holder:
                # The page the manager assigned from showed another owner: it moved meanwhile.
                raise LeadStateError(
                    f"the lead moved while the page was open (now with {holder or 'nobody'}):"
                    " look again before assigning it"
                )
            owner = body.get("owner")
            if not isinstance(owner, str) or not owner:
                message = "is required: the id of an owner in routing.yaml (text)"
                raise FormValidationError([FieldError("owner", message)])
            if caller is not None and caller.role == roles.SALES_MANAGER:
                routing = self.library.routing()
                placed = routing.owner(owner) if routing else None
                if placed is not None and placed[0].id != caller.team:
                    message = f"{owner} is not in your team ({caller.team})"
                    raise FormValidationError([FieldError("owner", message)])
            reason = _text(body, "reason")
            return self.dispatcher.reassignment(contact, owner, _who(caller, {}), reason, cause)

        return plan

    # --- the actions -------------------------------------------------------------------------

    def _owner_check(self, lead: dict[str, Any], body: dict[str, Any]) -> None:
        by = body.get("owner")
        if by is not None and by != lead.get("owner"):
            raise LeadStateError(f"the lead belongs to {lead.get('owner') or 'nobody'}, not {by}")

    def _follow_up_timer(self, owner: str, now: datetime) -> Timer:
        routing = self.library.routing()
        within = routing.follow_up_within if routing else None
        due = now + within if within else now
        return Timer(ownership.FOLLOW_UP_TIMER, LEAD_FOLLOW_UP_DUE, due, {"owner": owner})

    def _accept(self, contact, body, cause, now) -> Change:
        lead = lead_of(contact)
        if lead.get("status") == ownership.ACCEPTED:
            raise LeadStateError(
                f"already accepted by {lead.get('owner_name') or lead.get('owner')}"
            )
        if lead.get("status") != ownership.ASSIGNED:
            raise LeadStateError("the lead is not assigned to anyone; nothing to accept")
        self._owner_check(lead, body)
        change = Change.of(contact, lead=lead)
        _accepted(change, contact, lead, cause, now)
        change.timers.append(self._follow_up_timer(str(lead["owner"]), now))
        return change

    def _open_lead(self, contact: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        lead = lead_of(contact)
        if lead.get("status") not in ownership.OPEN:
            raise LeadStateError("the lead is not open (assigned or accepted)")
        self._owner_check(lead, body)
        return lead

    def _follow_up(self, contact, body, cause, now) -> Change:
        lead = self._open_lead(contact, body)
        kind = body.get("kind", "note")
        if kind not in FOLLOW_UP_KINDS:
            raise FormValidationError([FieldError("kind", f"one of {', '.join(FOLLOW_UP_KINDS)}")])
        note = _text(body, "note", required=True)
        lead["last_follow_up_at"] = now.isoformat()
        change = Change.of(contact, lead=lead)
        if lead["status"] == ownership.ASSIGNED:  # working the lead is accepting it
            _accepted(change, contact, lead, cause, now)
        props = {"owner": lead.get("owner"), "kind": kind, "note": note}
        change.events.append(ownership.event(contact["id"], cause, FOLLOW_UP_LOGGED, props, now))
        change.timers.append(self._follow_up_timer(str(lead["owner"]), now))
        return change

    def _close(
        self,
        contact: dict[str, Any],
        lead: dict[str, Any],
        status: str,
        stage: Stage | None,
        kind: str,
        props: dict[str, Any],
        cause: Event,
        now: datetime,
    ) -> Change:
        """End the lead's ownership: free the owner's place, stop its clocks, move the stage."""
        owner = lead.get("owner")
        lead.update(status=status, closed_at=now.isoformat())
        change = Change.of(contact, lead=lead)
        change.events.append(ownership.event(contact["id"], cause, kind, props, now))
        if owner:
            change.counters.append(CounterMove(counter_keys.open_leads_key(str(owner)), -1))
        change.cancel += [ownership.SLA_TIMER, ownership.FOLLOW_UP_TIMER]
        if stage is not None:
            self._stage(change, contact, stage, cause, now, f"{kind} by {owner or 'sales'}")
        return change

    @staticmethod
    def _stage(
        change: Change, contact: dict[str, Any], stage: Stage, cause: Event, now: datetime, why: str
    ) -> None:
        before = change.current_stage
        if change.move_stage(stage, Mover.SALES):
            change.events.append(
                stage_event(contact["id"], cause, before, stage.value, why, now, ownership.SOURCE)
            )

    def _disqualify(self, contact, body, cause, now) -> Change:
        lead = self._open_lead(contact, body)
        reason = _text(body, "reason", required=True)
        props = {"owner": lead.get("owner"), "reason": reason}
        return self._close(
            contact,
            lead,
            ownership.DISQUALIFIED,
            Stage.DISQUALIFIED,
            LEAD_DISQUALIFIED,
            props,
            cause,
            now,
        )

    def _opportunity(self, contact, body, cause, now) -> Change:
        lead = self._open_lead(contact, body)
        amount = _amount(body, required=False)
        lead["opportunity"] = {
            "name": _text(body, "name") or "",
            "amount": str(amount) if amount is not None else None,
            "currency": _currency(body),
            "opened_at": now.isoformat(),
        }
        change = Change.of(contact, lead=lead)
        if lead["status"] == ownership.ASSIGNED:  # opening a deal is working the lead
            _accepted(change, contact, lead, cause, now)
        else:
            change.cancel.append(ownership.SLA_TIMER)
        if amount is not None:
            change.properties["deal_value"] = float(amount)
        props = {"owner": lead.get("owner"), **lead["opportunity"]}
        change.events.append(ownership.event(contact["id"], cause, OPPORTUNITY_CREATED, props, now))
        change.timers.append(self._follow_up_timer(str(lead["owner"]), now))
        self._stage(change, contact, Stage.OPPORTUNITY, cause, now, "opportunity opened")
        return change

    def _won(self, contact, body, cause, now) -> Change:
        lead = self._open_lead(contact, body)
        amount = _amount(body, required=True)
        props = {
            "owner": lead.get("owner"),
            "amount": float(amount),
            "currency": _currency(body),
            "campaign": (contact.get("first_touch") or {}).get("campaign"),
        }
        change = self._close(
            contact, lead, ownership.WON, Stage.CUSTOMER, DEAL_WON, props, cause, now
        )
        change.properties["deal_value"] = props["amount"]
        return change

    def _lost(self, contact, body, cause, now) -> Change:
        lead = self._open_lead(contact, body)
        props = {"owner": lead.get("owner"), "reason": _text(body, "reason", required=True)}
        return self._close(contact, lead, ownership.LOST, None, DEAL_LOST, props, cause, now)

    def _fields(self, contact, body, cause, now) -> Change:
        """Sales records what it learns (a contract status, a deal value): `contact_updated`
        with the values before, so rules can react to a field *becoming* something."""
        fields = contact_fields.check(body.get("fields"))
        props = contact.get("properties") or {}
        changed = {k: v for k, v in fields.items() if props.get(k) != v}
        change = Change.of(contact)
        change.properties.update(changed)
        if changed:
            before = {k: props.get(k) for k in changed}
            props_ = {"changes": {"fields": changed}, "before": before, "by": body.get("owner")}
            change.events.append(
                ownership.event(contact["id"], cause, CONTACT_UPDATED, props_, now)
            )
        return change


def _who(caller: Caller | None, body: dict[str, Any]) -> str:
    """Who moved a lead, as the timeline says it: a sales key's owner, else the key's (or the
    login's) name; with no caller (the owner's own link), the owner the body names."""
    if caller is None:
        return str(body.get("owner") or "an admin")
    if caller.role == roles.SALES and caller.owner:
        return caller.owner
    return caller.name or caller.role


def _accepted(
    change: Change, contact: dict[str, Any], lead: dict[str, Any], cause: Event, now: datetime
) -> None:
    """The lead accepted, by its owner's accept or by working it (a follow-up, an
    opportunity): stop the SLA clock and record `lead_accepted` with the minutes it took, so
    the sales report counts every accept whichever way it came."""
    lead.update(status=ownership.ACCEPTED, accepted_at=now.isoformat())
    minutes = None
    if lead.get("assigned_at"):
        minutes = round((now - datetime.fromisoformat(lead["assigned_at"])).total_seconds() / 60)
    props = {"owner": lead["owner"], "minutes_to_accept": minutes}
    change.events.append(ownership.event(contact["id"], cause, LEAD_ACCEPTED, props, now))
    change.cancel.append(ownership.SLA_TIMER)
