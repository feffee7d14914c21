"""What each event adds to the report counters. Pure: the service reads the contact and the
touches, this decides the counts, the store adds them exactly once.

A counter is (scope, metric) per day: scope is what a report is about (everything, one
campaign, channel, source, journey, step, broadcast, template, owner, team or cohort) and the
metric what happened (`sent`, `opens_unique`, `stage:mql`, `revenue@USD` ...). Contacts'
outcomes (new contacts, stages, deals) count under the campaign, channel and source of their
first touch; email outcomes under the email's journey, step, broadcast and template; sales
outcomes under the owner and team. Revenue counts per currency: reports convert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib import events as ev
from chalicelib.leads import ownership
from chalicelib.lifecycle import LADDER
from chalicelib.reports import histogram
from chalicelib.reports.credit import NONE, Model, Touch, credit

ALL = "all"
EMAIL_CHANNEL = "email"

# Email metrics, in the order reports show them.
SENT = "sent"
DELIVERED = "delivered"
BOUNCED_HARD = "bounced_hard"
BOUNCED_SOFT = "bounced_soft"
COMPLAINED = "complained"
OPENS = "opens"
OPENS_UNIQUE = "opens_unique"
OPENS_MACHINE = "opens_machine"
CLICKS = "clicks"
CLICKS_UNIQUE = "clicks_unique"
UNSUBSCRIBED = "unsubscribes"
SKIPPED = "skipped"
FAILED = "failed"
EMAIL_METRICS = (
    SENT,
    DELIVERED,
    BOUNCED_HARD,
    BOUNCED_SOFT,
    COMPLAINED,
    OPENS,
    OPENS_UNIQUE,
    OPENS_MACHINE,
    CLICKS,
    CLICKS_UNIQUE,
    UNSUBSCRIBED,
    SKIPPED,
    FAILED,
)
# Contacts and revenue.
CONTACTS = "contacts"
SUBMISSIONS = "submissions"
DEALS_WON = "deals_won"
OPPORTUNITIES = "opportunities"
# Sales.
HANDOFFS = "handoffs"
ACCEPTED = "accepted"
SLA_BREACHES = "sla_breaches"
RECYCLES = "recycles"
RELEASES = "released"
UNASSIGNED = "unassigned"
DISQUALIFIED = "disqualified"
FOLLOW_UPS = "follow_ups"
FOLLOW_UP_GAPS = "follow_up_gaps"  # an accepted lead with no follow-up for too long
POOL = "pool"  # a gauge: leads in the shared pool now
# Journeys.
ENTERED = "entered"
COMPLETED = "completed"
EXITED = "exited"
CONVERTED = "converted"
STEP_ENTERED = "step_entered"
STEP_LEFT = "step_left"
STEP_EXITED = "step_exited"
WAITING = "waiting"  # a gauge: enrollments at the step now
# Segments: entries and exits per day, from which a segment's size over time follows.
JOINED = "joined"
LEFT_SEGMENT = "left"


def stage(name: str) -> str:
    return f"stage:{name}"


def revenue(currency: str) -> str:
    return f"revenue@{currency}"


def credited(model: Model | str) -> str:
    """A campaign's or channel's share of deals won under a model."""
    return f"credit:{model}"


def credited_revenue(model: Model | str, currency: str) -> str:
    return f"revenue:{model}@{currency}"


def stage_time(stage_name: str) -> str:
    """The prefix of the histogram of minutes spent in a stage before leaving it."""
    return f"stage_minutes:{stage_name}:"


ACCEPT_TIME = "accept_minutes:"  # from the hand-off to the accept
LEAD_TIME = "lead_minutes:"  # speed to lead: from the form post to the accept


def unsubscribed_from(topic: str) -> str:
    return f"{UNSUBSCRIBED}:{topic}"


def exited_because(reason: str) -> str:
    """The kind of exit, not its detail: an exit goal's detail can quote a contact's field
    (`exit goal: email is 'ada@...'`), and reports are read by viewers."""
    kind = reason.split(":", 1)[0].strip()[:NAME_CHARS] or "other"
    return f"{EXITED}:{kind}"


def branch(step: str, case: str) -> str:
    return f"branch:{step}:{case}"


# Scopes: what a report is about. Names that come from a visitor's link (a campaign, a
# source) are cut to NAME_CHARS: they are noted on every day's `all` item, which must stay
# well under DynamoDB's 400 KB however many odd values a crawler posts.
NAME_CHARS = 64


def _name(value: str) -> str:
    return value.strip()[:NAME_CHARS]


def campaign(key: str) -> str:
    return f"campaign#{_name(key.lower())}"


def channel(name: str) -> str:
    return f"channel#{_name(name)}"


def source(name: str) -> str:
    return f"source#{_name(name)}"


def journey(journey_id: str) -> str:
    return f"journey#{journey_id}"


def step(journey_id: str, step_id: str) -> str:
    return f"step#{journey_id}#{step_id}"


def broadcast(broadcast_id: str) -> str:
    return f"broadcast#{broadcast_id}"


def template(name: str) -> str:
    return f"template#{name}"


def owner(owner_id: str) -> str:
    return f"owner#{owner_id}"


def team(team_id: str) -> str:
    return f"team#{team_id}"


def segment(segment_id: str) -> str:
    return f"segment#{segment_id}"


def cohort(month: str) -> str:
    return f"cohort#{month}"


@dataclass(frozen=True)
class Count:
    scope: str
    metric: str
    amount: int | Decimal = 1
    gauge: bool = False  # an all-time level that goes up and down (waiting now), no day


@dataclass(frozen=True)
class Subject:
    """What the counters need to know about the contact an event is about."""

    campaign: str = NONE
    channel: str = NONE
    source: str = NONE
    cohort: str = ""
    created_by_event: str | None = None
    owner: str | None = None
    team: str | None = None
    stage_since: datetime | None = None  # when it entered the stage it is leaving
    touches: tuple[Touch, ...] = ()
    opportunity_at: datetime | None = None
    posted_at: datetime | None = None  # the form post a lead accepted came from
    reached_before: frozenset[str] = frozenset()  # stages reached by earlier changes
    # The properties of the email an unsubscribe came from (journey, step, template...).
    email: Mapping[str, Any] = field(default_factory=dict)

    @property
    def origin(self) -> tuple[str, ...]:
        """The scopes a contact's outcomes count under."""
        scopes = [ALL, campaign(self.campaign), channel(self.channel), source(self.source)]
        return (*scopes, *([cohort(self.cohort)] if self.cohort else ()))


def subject_of(contact: Mapping[str, Any], **extra: Any) -> Subject:
    """A Subject from a contact item: its first touch, month of creation and owner."""
    first = contact.get("first_touch") or {}
    lead = contact.get("lead") or {}
    created = contact.get("created_at")
    created_text = created.isoformat() if isinstance(created, datetime) else str(created or "")
    return Subject(
        campaign=str(first.get("campaign") or NONE).strip().lower() or NONE,
        channel=str(first.get("channel") or NONE),
        source=str(first.get("source") or NONE),
        cohort=created_text[:7],
        created_by_event=contact.get("created_by_event"),
        owner=lead.get("owner"),
        team=lead.get("team"),
        **extra,
    )


def tag_value(value: Any) -> str:
    """A value as an SES message tag carries it (letters, digits, _ and -): the sender tags
    each message so, and an email's sends and its deliveries then count under one name."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in str(value))
    return cleaned[:256] or "none"


def _email_scopes(props: Mapping[str, Any]) -> list[str]:
    scopes = [ALL, channel(EMAIL_CHANNEL)]
    if props.get("template"):
        scopes.append(template(tag_value(props["template"])))
    if props.get("journey"):
        scopes.append(journey(str(props["journey"])))
        if props.get("step"):
            scopes.append(step(str(props["journey"]), str(props["step"])))
    if props.get("broadcast"):
        scopes.append(broadcast(str(props["broadcast"])))
    if props.get("campaign"):
        scopes.append(campaign(str(props["campaign"])))
    return scopes


def _email_metrics(event: ev.Event) -> list[str]:
    p = event.properties
    match event.type:
        case ev.EMAIL_SENT:
            return [SENT]
        case ev.EMAIL_DELIVERED:
            return [DELIVERED]
        case ev.EMAIL_BOUNCED:
            return [BOUNCED_HARD if p.get("suppressed") == "hard_bounce" else BOUNCED_SOFT]
        case ev.EMAIL_COMPLAINED:
            return [COMPLAINED]
        case ev.EMAIL_OPENED:
            if p.get("machine"):
                return [OPENS_MACHINE]
            return [OPENS, *([OPENS_UNIQUE] if p.get("unique") else [])]
        case ev.EMAIL_CLICKED:
            return [CLICKS, *([CLICKS_UNIQUE] if p.get("unique") else [])]
        case ev.EMAIL_SKIPPED:
            return [SKIPPED]
        case ev.EMAIL_FAILED:
            return [FAILED]
    return []


EMAIL_EVENTS = frozenset(
    {
        ev.EMAIL_SENT,
        ev.EMAIL_DELIVERED,
        ev.EMAIL_BOUNCED,
        ev.EMAIL_COMPLAINED,
        ev.EMAIL_OPENED,
        ev.EMAIL_CLICKED,
        ev.EMAIL_SKIPPED,
        ev.EMAIL_FAILED,
    }
)
# What needs the contact read first (its first touch, owner, stage history, touches).
NEEDS_CONTACT = frozenset(
    {
        ev.FORM_SUBMITTED,
        ev.CONTACT_IMPORTED,
        ev.STAGE_CHANGED,
        ev.OPPORTUNITY_CREATED,
        ev.DEAL_WON,
        ev.LEAD_ASSIGNED,
        ev.LEAD_ACCEPTED,
        ev.LEAD_RECYCLED,
        ev.LEAD_RELEASED,
        ev.LEAD_UNASSIGNED,
        ev.LEAD_SLA_EXPIRED,
        ev.LEAD_DISQUALIFIED,
        ev.FOLLOW_UP_LOGGED,
        ev.LEAD_FOLLOW_UP_DUE,
    }
)
UNSUBSCRIBES = frozenset({ev.UNSUBSCRIBED, ev.TOPIC_UNSUBSCRIBED})
JOURNEY_EVENTS = frozenset(
    {
        ev.JOURNEY_ENTERED,
        ev.JOURNEY_COMPLETED,
        ev.JOURNEY_EXITED,
        ev.JOURNEY_CONVERTED,
        ev.BRANCH_TAKEN,
        ev.SPLIT_ASSIGNED,
    }
)
SEGMENT_EVENTS = frozenset({ev.SEGMENT_ENTERED, ev.SEGMENT_LEFT})
# What the bookkeeper counts as events go by; a journey's events are counted by the
# transaction that writes them (store/enrollments.py), with no marker to write.
COUNTED = EMAIL_EVENTS | NEEDS_CONTACT | UNSUBSCRIBES | SEGMENT_EVENTS


def counts(event: ev.Event, subject: Subject) -> list[Count]:
    """The counters one event adds to; empty for an event no report counts."""
    if event.type in EMAIL_EVENTS:
        scopes = _email_scopes(event.properties)
        return [Count(s, m) for m in _email_metrics(event) for s in scopes]
    if event.type in UNSUBSCRIBES:
        return _unsubscribe(event, subject)
    if event.type in JOURNEY_EVENTS:
        return _journey(event)
    if event.type in SEGMENT_EVENTS:
        scope = segment(str(event.properties.get("segment")))
        return [Count(scope, JOINED if event.type == ev.SEGMENT_ENTERED else LEFT_SEGMENT)]
    return _contact(event, subject)


def _unsubscribe(event: ev.Event, subject: Subject) -> list[Count]:
    scopes = _email_scopes(subject.email) if subject.email else [ALL, channel(EMAIL_CHANNEL)]
    if event.type == ev.UNSUBSCRIBED:
        return [Count(s, UNSUBSCRIBED) for s in scopes]
    topic = str(event.properties.get("topic") or "other")
    return [Count(s, unsubscribed_from(topic)) for s in scopes]


def _journey(event: ev.Event) -> list[Count]:
    p = event.properties
    scope = journey(str(p.get("journey") or NONE))
    match event.type:
        case ev.JOURNEY_ENTERED:
            return [Count(scope, ENTERED)]
        case ev.JOURNEY_COMPLETED:
            outcome = str(p.get("outcome") or COMPLETED)
            return [Count(scope, COMPLETED if outcome == COMPLETED else f"ended:{outcome}")]
        case ev.JOURNEY_EXITED:
            reason = str(p.get("reason") or "other")
            return [Count(scope, EXITED), Count(scope, exited_because(reason))]
        case ev.JOURNEY_CONVERTED:
            return [Count(scope, CONVERTED)]
        case ev.BRANCH_TAKEN:
            case = p.get("path") or "otherwise"  # "case 2", or the branch's default
            return [Count(scope, branch(str(p.get("step")), str(case)))]
        case ev.SPLIT_ASSIGNED:
            return [Count(scope, branch(str(p.get("step")), str(p.get("path"))))]
    return []


def steps(
    journey_id: str, entered: Sequence[str], left: Sequence[str], exited: Sequence[str] = ()
) -> list[Count]:
    """An enrollment's run through a journey's steps: each step entered, moved on from or
    left the journey at, and the level of enrollments at each step now. All of them are
    metrics of the journey's own scope (`step_entered:welcome`), so that a run through twenty
    steps adds to two items, not forty, in the transaction that commits it."""
    out: list[Count] = []
    scope = journey(journey_id)
    for metric, names, level in (
        (STEP_ENTERED, entered, 1),
        (STEP_LEFT, left, -1),
        (STEP_EXITED, exited, -1),
    ):
        for name in names:
            out += [
                Count(scope, at_step(metric, name)),
                Count(scope, at_step(WAITING, name), level, True),
            ]
    return out


def at_step(metric: str, step_id: str) -> str:
    return f"{metric}:{step_id}"


def _contact(event: ev.Event, subject: Subject) -> list[Count]:
    p = event.properties
    out: list[Count] = []
    sales = (
        [ALL]
        + [owner(subject.owner)] * bool(subject.owner)
        + [team(subject.team)] * bool(subject.team)
    )
    match event.type:
        case ev.FORM_SUBMITTED | ev.CONTACT_IMPORTED:
            touch = event.touch or {}
            if event.type == ev.FORM_SUBMITTED:
                out += [
                    Count(s, SUBMISSIONS)
                    for s in (
                        ALL,
                        campaign(str(touch.get("campaign") or NONE)),
                        channel(str(touch.get("channel") or NONE)),
                        source(str(touch.get("source") or NONE)),
                    )
                ]
            if event.event_id == subject.created_by_event:
                out += [Count(s, CONTACTS) for s in subject.origin]
        case ev.STAGE_CHANGED:
            out += _stage(event, subject)
        case ev.OPPORTUNITY_CREATED:
            out += [Count(s, OPPORTUNITIES) for s in (*subject.origin, *sales[1:])]
        case ev.DEAL_WON:
            out += _deal(event, subject, sales[1:])
        case ev.LEAD_ASSIGNED:
            who = [ALL, owner(str(p.get("owner")))] + [team(str(p["team"]))] * bool(p.get("team"))
            out += [Count(s, HANDOFFS) for s in who]
            if p.get("was") == ownership.POOL:  # taken from the shared pool (of the team it was in)
                pool = str(p.get("from_team") or p.get("team"))
                out += [Count(s, POOL, -1, True) for s in (ALL, team(pool))]
        case ev.LEAD_ACCEPTED:
            minutes = p.get("minutes_to_accept")
            out += [Count(s, ACCEPTED) for s in sales]
            if isinstance(minutes, int | float):
                bucket = ACCEPT_TIME + histogram.label(histogram.bucket(minutes))
                out += [Count(s, bucket) for s in sales]
            if subject.posted_at is not None:
                waited = max((event.occurred_at - subject.posted_at).total_seconds() / 60, 0)
                bucket = LEAD_TIME + histogram.label(histogram.bucket(waited))
                out += [Count(s, bucket) for s in sales]
        case ev.LEAD_SLA_EXPIRED:
            out += [Count(s, SLA_BREACHES) for s in sales]
        case ev.LEAD_RECYCLED | ev.LEAD_RELEASED:  # under the owner it left, and their team
            was_with = p.get("team") or subject.team
            left = [ALL, owner(str(p.get("owner")))] + [team(str(was_with))] * bool(was_with)
            metric = RECYCLES if event.type == ev.LEAD_RECYCLED else RELEASES
            out += [Count(s, metric) for s in left]
        case ev.LEAD_UNASSIGNED:
            out += [Count(s, UNASSIGNED) for s in sales]
            pool, before = str(p.get("team")), p.get("from_team")
            if p.get("was") != ownership.POOL:  # into the shared pool (not again)
                out += [Count(s, POOL, 1, True) for s in (ALL, team(pool))]
            elif before and before != pool:  # from one team's pool to another's
                out += [Count(team(str(before)), POOL, -1, True), Count(team(pool), POOL, 1, True)]
        case ev.LEAD_DISQUALIFIED:
            out += [Count(s, DISQUALIFIED) for s in sales]
        case ev.FOLLOW_UP_LOGGED:
            out += [Count(s, FOLLOW_UPS) for s in sales]
        case ev.LEAD_FOLLOW_UP_DUE:
            out += [Count(s, FOLLOW_UP_GAPS) for s in sales]
    return out


def rungs(before: Any, after: str) -> list[str]:
    """The stages a change reaches: on the ladder, every rung up to `after` (lead straight to
    SQL has been an MQL too), so the funnel never narrows upwards; off it, `after`."""
    if after not in LADDER:
        return [after]
    if before is not None and before not in LADDER:
        return [after]  # back onto the ladder from disqualified or churned
    start = LADDER.index(before) + 1 if before in LADDER else 0
    return [str(s) for s in LADDER[start : LADDER.index(after) + 1]] or [after]


def _stage(event: ev.Event, subject: Subject) -> list[Count]:
    """Each stage the contact reaches for the first time (a contact moved back and up again
    is one contact in the funnel, not two), and the time spent in the stage it left."""
    before, after = event.properties.get("from"), str(event.properties.get("to"))
    reached = [r for r in rungs(before, after) if r not in subject.reached_before]
    out = [Count(s, stage(r)) for r in reached for s in subject.origin]
    if before and subject.stage_since is not None:
        minutes = (event.occurred_at - subject.stage_since).total_seconds() / 60
        name = stage_time(str(before)) + histogram.label(histogram.bucket(max(minutes, 0)))
        out.append(Count(ALL, name))
    return out


def _deal(event: ev.Event, subject: Subject, sales: Sequence[str]) -> list[Count]:
    p = event.properties
    currency = str(p.get("currency") or "USD")
    amount = Decimal(str(p.get("amount") or 0))
    out = [Count(s, DEALS_WON) for s in (*subject.origin, *sales)]
    out += [Count(s, revenue(currency), amount) for s in (*subject.origin, *sales)]
    for model in Model:
        for key, scope_of in (("campaign", campaign), ("channel", channel)):
            shares = credit(
                subject.touches, model, event.occurred_at, subject.opportunity_at, key=key
            )
            for name, share in shares.items():
                out.append(Count(scope_of(name), credited(model), share))
                out.append(Count(scope_of(name), credited_revenue(model, currency), share * amount))
    return out
