"""Rules against the store: the pipeline handler that fires if/then rules, once per event.

A rule qualifies on an event (its own `when`), is checked against the contact (`if`) and
fires: one `rule_fired` event whose id derives from the cause and the rule, committed with
everything its actions do (tags, fields, stage, an enrollment request, notices). A second run
of the same event finds that id taken and does nothing. Time-based rules (no activity, no
follow-up for N days) keep a timer per contact that activity pushes back; when it fires, the
rule qualifies on the timer's event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.conditions.evaluation import ContactFacts, evaluate, where_matches
from chalicelib.events import (
    CONTACT_UPDATED,
    DEAL_WON,
    EMAIL_CLICKED,
    EMAIL_OPENED,
    FOLLOW_UP_LOGGED,
    FORM_SUBMITTED,
    JOURNEY_ENROLLMENT_REQUESTED,
    LEAD_ACCEPTED,
    OPPORTUNITY_CREATED,
    PAGE_VIEWED,
    RULE_DUE,
    RULE_FIRED,
    SCORE_CHANGED,
    STAGE_CHANGED,
    Event,
)
from chalicelib.leads import ownership
from chalicelib.leads.ownership import lead_of
from chalicelib.lifecycle import Mover
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.rules.language import (
    MANAGER,
    OWNER,
    EnrollAction,
    NotifyAction,
    Rule,
    RuleBook,
    SetAction,
    SetStageAction,
    TagAction,
    UntagAction,
)
from chalicelib.services import notices
from chalicelib.services.notices import Deliveries
from chalicelib.services.scorekeeper import stage_event
from chalicelib.store.changes import Change, Timer
from chalicelib.store.lead_library import LeadLibrary
from chalicelib.store.writer import ContactWriter

SOURCE = "rules"
ACTIVITY = frozenset({FORM_SUBMITTED, PAGE_VIEWED, EMAIL_OPENED, EMAIL_CLICKED})
FOLLOW_UPS = frozenset({LEAD_ACCEPTED, FOLLOW_UP_LOGGED, OPPORTUNITY_CREATED, DEAL_WON})


def timer_name(rule: Rule) -> str:
    return f"rule-{rule.id}"


def is_activity(event: Event) -> bool:
    """Something the person did (not something the system did about them)."""
    return event.type in ACTIVITY or event.source in ("api", "tracking")


def qualifies(rule: Rule, event: Event) -> bool:
    when, props = rule.when, event.properties
    if when.event is not None:
        return event.type in when.types and where_matches(when.where, props, None)
    if when.stage_becomes is not None:
        return event.type == STAGE_CHANGED and props.get("to") == when.stage_becomes.value
    if when.field_becomes is not None:
        if event.type != CONTACT_UPDATED:
            return False
        fields = (props.get("changes") or {}).get("fields") or {}
        before = props.get("before") or {}
        return all(
            name in fields
            and str(fields[name]) == str(value)
            and str(before.get(name)) != str(value)
            for name, value in when.field_becomes.items()
        )
    if when.score_below is not None:
        if event.type != SCORE_CHANGED:
            return False
        after = int(props.get("score", 0))
        return after < when.score_below <= after - int(props.get("points", 0))
    return event.type == RULE_DUE and props.get("rule") == rule.id


def _rearmed(rule: Rule, event: Event) -> datetime | None:
    """When this event pushes the rule's timer back to, if it does."""
    when = rule.when
    if when.inactive_for is not None and is_activity(event):
        return event.occurred_at + when.inactive_for
    if when.no_follow_up_for is not None and event.type in FOLLOW_UPS:
        return event.occurred_at + when.no_follow_up_for
    return None


class RuleRunner:
    def __init__(self, library: LeadLibrary, writer: ContactWriter) -> None:
        self.library = library
        self.writer = writer

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        book = self.library.rules()
        if book is None or not book.rules or not event.contact_id.startswith("ct_"):
            return
        if event.type == RULE_FIRED:
            return
        firing = [r for r in book.rules if qualifies(r, event)]
        timers = [(r, at) for r in book.rules if (at := _rearmed(r, event)) is not None]
        if not firing and not timers:
            return
        self.writer.write(
            event.contact_id,
            lambda contact, now: self.decide(book, contact, event, firing, timers, now),
        )

    def decide(
        self,
        book: RuleBook,
        contact: dict[str, Any],
        event: Event,
        firing: list[Rule],
        timers: list[tuple[Rule, datetime]],
        now: datetime,
    ) -> Change:
        change = Change.of(contact)
        facts = ContactFacts(contact)
        for rule in firing:
            if rule.if_ is not None:
                verdict = evaluate(rule.if_, facts, now, None)
                if not verdict.holds:
                    continue
                why = verdict.reason
            else:
                why = f"{event.type} happened"
            fired = ownership.event(
                contact["id"], event, RULE_FIRED, {"rule": rule.id, "because": why}, now, rule.id
            )
            fired = replace(fired, source=SOURCE)
            change.events.append(fired)
            self._act(rule, contact, event, fired, change, now)
        for rule, at in timers:
            change.timers.append(Timer(timer_name(rule), RULE_DUE, at, {"rule": rule.id}))
        return change

    def _act(
        self,
        rule: Rule,
        contact: dict[str, Any],
        cause: Event,
        fired: Event,
        change: Change,
        now: datetime,
    ) -> None:
        fields: dict[str, Any] = {}
        for i, action in enumerate(rule.then):
            match action:
                case TagAction():
                    change.tag(action.tag)
                case UntagAction():
                    change.untag(action.untag)
                case SetAction():
                    fields.update(action.set)
                case SetStageAction():
                    before = change.current_stage
                    if change.move_stage(action.set_stage, Mover.RULE):
                        change.events.append(
                            stage_event(
                                contact["id"],
                                fired,
                                before,
                                action.set_stage.value,
                                f"rule {rule.id}",
                                now,
                                SOURCE,
                            )
                        )
                case EnrollAction():
                    change.events.append(
                        ownership.event(
                            contact["id"],
                            fired,
                            JOURNEY_ENROLLMENT_REQUESTED,
                            {"target_journey": action.enroll, "rule": rule.id},
                            now,
                            str(i),
                        )
                    )
                case NotifyAction():
                    self._notify(rule, action, contact, fired, change, now, i)
        if fields:
            props = contact.get("properties") or {}
            change.properties.update(fields)
            change.events.append(
                ownership.event(
                    contact["id"],
                    fired,
                    CONTACT_UPDATED,
                    {
                        "changes": {"fields": fields},
                        "before": {k: props.get(k) for k in fields},
                        "rule": rule.id,
                    },
                    now,
                )
            )

    def _notify(
        self,
        rule: Rule,
        action: NotifyAction,
        contact: dict[str, Any],
        fired: Event,
        change: Change,
        now: datetime,
        position: int,
    ) -> None:
        spec = action.notify
        summary = notices.lead_summary(contact, self.library.scoring(), (), "")
        summary["link"] = None
        emails = [a for who in spec.email for a in self._addresses(who, contact)]
        told = notices.notice(
            f"rule.{rule.id}", spec.title, summary, rule=rule.id, message=spec.message
        )
        out = Deliveries()
        notices.deliver(
            out,
            contact["id"],
            fired,
            f"rule-{position}",
            told,
            now,
            emails=emails,
            channels=spec.channels,
        )
        change.effects += out.effects
        change.events += out.events

    def _addresses(self, who: str, contact: Mapping[str, Any]) -> list[str]:
        if who not in (OWNER, MANAGER):
            return [who]
        lead = lead_of(contact)
        if who == OWNER:
            return [lead["owner_email"]] if lead.get("owner_email") else []
        routing = self.library.routing()
        placed = routing.owner(str(lead.get("owner"))) if routing and lead.get("owner") else None
        if placed is None:
            team = routing.team(lead["team"]) if routing and lead.get("team") else None
            return [team.manager.email] if team and team.manager else []
        manager = placed[0].manager
        return [manager.email] if manager else []
