"""Evaluating conditions against what we know of a contact, with a reason for each verdict.

The reason is what `leadflow simulate` prints and what a branch event records, so a marketer
can see why a contact went one way rather than the other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib import consent
from chalicelib.conditions import durations
from chalicelib.conditions.language import (
    AllCondition,
    AnyCondition,
    Condition,
    ConsentCondition,
    EventCondition,
    FieldCondition,
    InactiveCondition,
    NotCondition,
    SegmentCondition,
    StageCondition,
    TagCondition,
    Where,
)
from chalicelib.events import Event, is_activity
from chalicelib.lifecycle import reached

TOP_LEVEL = ("email", "phone", "stage", "score", "tags", "segments", "created_at")


class Facts(Protocol):
    """What conditions may read about one contact; implementations load lazily."""

    def contact(self) -> Mapping[str, Any]: ...

    def events(self, since: datetime | None) -> list[Event]: ...


class ContactFacts:
    """Facts that are a contact only (scoring, routing): event conditions find no events."""

    def __init__(self, contact: Mapping[str, Any]) -> None:
        self._contact = contact

    def contact(self) -> Mapping[str, Any]:
        return self._contact

    def events(self, since: datetime | None) -> list[Event]:
        return []


@dataclass(frozen=True)
class Verdict:
    holds: bool
    reason: str


# Maps on the contact a condition may look into: where it came from (`first_touch.channel`,
# `last_touch.campaign`) and its RFM scores and tier (`rfm.tier`, `rfm.r`).
TOUCHES = ("first_touch", "last_touch", "rfm")


def field_value(contact: Mapping[str, Any], name: str) -> Any:
    if name == "email_domain":
        email = contact.get("email") or ""
        return email.rpartition("@")[2].lower() or None
    if name in TOP_LEVEL:
        return contact.get(name)
    touch, _, key = name.partition(".")
    if touch in TOUCHES and key:
        return (contact.get(touch) or {}).get(key)
    props = contact.get("properties") or {}
    return props.get(name.removeprefix("properties."))


def where_matches(where: Where, properties: Mapping[str, Any], journey_id: str | None) -> bool:
    """Property filters; `step` means a step of the given journey."""
    for key, expected in where.items():
        if key == "step" and journey_id is not None and properties.get("journey") != journey_id:
            return False
        actual = properties.get(key)
        options = expected if isinstance(expected, list) else [expected]
        if not any(_same(actual, option) for option in options):
            return False
    return True


def event_matches(
    event: Event, types: tuple[str, ...], where: Where, journey_id: str | None
) -> bool:
    return event.type in types and where_matches(where, event.properties, journey_id)


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.casefold() == expected.casefold()
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected or str(actual).lower() == str(expected).lower()
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return float(actual) == float(expected)
    return actual == expected or str(actual) == str(expected)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _field(cond: FieldCondition, facts: Facts) -> Verdict:
    value = field_value(facts.contact(), cond.field)
    shown = f"{cond.field} is {value!r}" if value not in (None, "") else f"{cond.field} is empty"
    for op, expected in cond.operators().items():
        if not _operator(op, value, expected):
            return Verdict(False, f"{shown} (wanted {op} {expected!r})")
    return Verdict(True, shown)


def _operator(op: str, value: Any, expected: Any) -> bool:
    present = value not in (None, "", [], set())
    if op == "exists":
        return present is expected
    if op in ("equals", "not_equals"):
        same = _same(value, expected)
        return same if op == "equals" else not same
    if op in ("in", "not_in"):
        inside = any(_same(value, e) for e in expected)
        return inside if op == "in" else not inside
    if op == "contains":
        if isinstance(value, list | set | tuple):
            return any(_same(v, expected) for v in value)
        return present and str(expected).casefold() in str(value).casefold()
    if op == "matches":
        return present and re.search(expected, str(value)) is not None
    number = _number(value)
    if number is None:
        return False
    return {"gt": number > expected, "gte": number >= expected, "lt": number < expected}.get(
        op, number <= expected
    )


def _stage(cond: StageCondition, facts: Facts) -> Verdict:
    stage = facts.contact().get("stage")
    return Verdict(reached(stage, cond.stage_reached), f"stage is {stage or 'not set'}")


def matching(
    cond: EventCondition, facts: Facts, now: datetime, journey_id: str | None
) -> list[Event]:
    """The events that count for an event condition, newest first: those in its window (or
    the contact's first matching event, if it falls in the window, for `first`)."""
    since = now - cond.within if cond.within else None
    if cond.first:
        every = [
            e for e in facts.events(None) if event_matches(e, cond.types, cond.where, journey_id)
        ]
        first = min(every, key=lambda e: (e.occurred_at, e.event_id), default=None)
        return [first] if first and (since is None or first.occurred_at >= since) else []
    found = [
        e
        for e in facts.events(since)
        if event_matches(e, cond.types, cond.where, journey_id)
        and (since is None or e.occurred_at >= since)
    ]
    return sorted(found, key=lambda e: (e.occurred_at, e.event_id), reverse=True)


def last_activity(facts: Facts, since: datetime | None) -> Event | None:
    """The newest event the person did themselves (events.is_activity) since `since`."""
    mine = [e for e in facts.events(since) if is_activity(e.type)]
    return max(mine, key=lambda e: (e.occurred_at, e.event_id), default=None)


def _event(cond: EventCondition, facts: Facts, now: datetime, journey_id: str | None) -> Verdict:
    found = matching(cond, facts, now, journey_id)
    window = f" within {durations.describe(cond.within)}" if cond.within else ""
    what = ("first " if cond.first else "") + "/".join(cond.types)
    what += f" {_describe_where(cond.where)}" if cond.where else ""
    holds = len(found) >= cond.min_count
    if holds:
        return Verdict(True, f"{what}{window}: {len(found)} found")
    return Verdict(
        False, f"no {what}{window}" if not found else f"only {len(found)} {what}{window}"
    )


def _describe_where(where: Where) -> str:
    return " ".join(
        f"{k}={'/'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in where.items()
    )


def evaluate(cond: Condition, facts: Facts, now: datetime, journey_id: str | None) -> Verdict:
    match cond:
        case FieldCondition():
            return _field(cond, facts)
        case TagCondition():
            tags = set(facts.contact().get("tags") or ())
            return Verdict(
                cond.tag in tags, f"tag {cond.tag} {'present' if cond.tag in tags else 'absent'}"
            )
        case SegmentCondition():
            inside = cond.segment in set(facts.contact().get("segments") or ())
            return Verdict(inside, f"{'in' if inside else 'not in'} segment {cond.segment}")
        case StageCondition():
            return _stage(cond, facts)
        case EventCondition():
            return _event(cond, facts, now, journey_id)
        case ConsentCondition():
            said = consent.subscribed(facts.contact().get("consents") or {}, cond.consent)
            words = {True: "gave", False: "withdrew", None: "never gave"}[said]
            return Verdict(said is True, f"{words} consent to {cond.consent}")
        case InactiveCondition():
            last = last_activity(facts, now - cond.inactive_for)
            window = durations.describe(cond.inactive_for)
            if last is None:
                return Verdict(True, f"no activity within {window}")
            return Verdict(False, f"{last.type} on {last.occurred_at:%Y-%m-%d %H:%M}")
        case AllCondition():
            reasons = []
            for part in cond.all:
                verdict = evaluate(part, facts, now, journey_id)
                if not verdict.holds:
                    return verdict
                reasons.append(verdict.reason)
            return Verdict(True, " and ".join(reasons))
        case AnyCondition():
            reasons = []
            for part in cond.any:
                verdict = evaluate(part, facts, now, journey_id)
                if verdict.holds:
                    return verdict
                reasons.append(verdict.reason)
            return Verdict(False, " and ".join(reasons))
        case NotCondition():
            inner = evaluate(cond.not_, facts, now, journey_id)
            return Verdict(not inner.holds, f"not ({inner.reason})")
    raise TypeError(f"unknown condition {cond!r}")


def needs_contact(cond: Condition) -> bool:
    """Whether evaluating `cond` reads the contact (event conditions read the timeline)."""
    match cond:
        case EventCondition() | InactiveCondition():
            return False
        case AllCondition():
            return any(needs_contact(c) for c in cond.all)
        case AnyCondition():
            return any(needs_contact(c) for c in cond.any)
        case NotCondition():
            return needs_contact(cond.not_)
    return True
