"""Lead scoring (marketing/scoring.yaml): fit from who a contact is, engagement from what
they do, both as named rules. Pure: no store, no clock of its own.

Every point has a rule behind it. The contact keeps `score_reasons` (rule -> points) beside
`score`, and every change is a `score_changed` event naming its rule, so the reasons always
add up to the score and anyone can see why a lead is hot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from chalicelib import lifecycle
from chalicelib.conditions.evaluation import ContactFacts, Verdict, evaluate, where_matches
from chalicelib.conditions.language import Condition, Duration, Strict, Where
from chalicelib.conditions.patterns import Regex
from chalicelib.contact_change import JOURNEY_SCORE_REASON
from chalicelib.events import (
    CONTACT_IMPORTED,
    CONTACT_UPDATED,
    FORM_SUBMITTED,
    IDENTIFIED,
    SCORE_DECAY_DUE,
    Event,
)
from chalicelib.lifecycle import Mover, Stage

RULE_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
DECAY = "decay"
DECAY_EVERY = timedelta(days=7)
DECAY_TIMER = "score-decay"
DECAY_DUE = SCORE_DECAY_DUE
# Events that may change what a contact is (its fit); the others only add engagement.
PROFILE_EVENTS = frozenset({FORM_SUBMITTED, IDENTIFIED, CONTACT_UPDATED, CONTACT_IMPORTED})
AUTO_STAGES = (Stage.LEAD, Stage.MQL, Stage.SQL)

RuleId = Annotated[str, Field(pattern=RULE_ID)]


class FitRule(Strict):
    """Points while a condition on the contact holds (and back off when it stops holding)."""

    id: RuleId
    label: str | None = None
    if_: Condition = Field(alias="if")
    points: int = Field(ne=0)


class Cap(Strict):
    points: int = Field(gt=0)
    per: Literal["day", "week", "month", "ever"] = "ever"


class EngagementRule(Strict):
    """Points each time the contact does something, up to a cap per period."""

    id: RuleId
    label: str | None = None
    event: str | list[str]
    where: Where = Field(default_factory=dict)
    matches: dict[str, Regex] = Field(default_factory=dict)
    points: int = Field(ne=0)
    cap: Cap | None = None

    @property
    def types(self) -> tuple[str, ...]:
        return (self.event,) if isinstance(self.event, str) else tuple(self.event)

    def applies_to(self, event: Event) -> bool:
        if event.type not in self.types or not where_matches(self.where, event.properties, None):
            return False
        return all(
            re.search(pattern, str(event.properties.get(key) or "")) is not None
            for key, pattern in self.matches.items()
        )


class Decay(Strict):
    """Engagement fades without activity: halve over `half_life`, or lose points weekly."""

    half_life: Duration | None = None
    points_per_week: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_kind(self) -> Decay:
        if (self.half_life is None) == (self.points_per_week is None):
            raise ValueError("decay needs exactly one of half_life or points_per_week")
        return self

    def loss(self, engagement: int) -> int:
        """Points one week of inactivity takes from an engagement score (never below zero)."""
        if engagement <= 0:
            return 0
        if self.points_per_week is not None:
            return min(self.points_per_week, engagement)
        assert self.half_life is not None
        kept = 0.5 ** (DECAY_EVERY / self.half_life)
        return max(1, round(engagement * (1 - kept)))


class Scoring(Strict):
    id: str = "scoring"
    fit: list[FitRule] = Field(default_factory=list)
    engagement: list[EngagementRule] = Field(default_factory=list)
    decay: Decay | None = None
    stages: dict[Literal["lead", "mql", "sql"], int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Scoring:
        ids = [r.id for r in (*self.fit, *self.engagement)]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"rule ids must be unique: {', '.join(twice)} used twice")
        reserved = {DECAY, JOURNEY_SCORE_REASON} & set(ids)
        if reserved:
            raise ValueError(f"rule id {sorted(reserved)[0]!r} is reserved")
        ordered = [self.stages[s.value] for s in AUTO_STAGES if s.value in self.stages]
        if ordered != sorted(ordered):
            raise ValueError("stage thresholds must rise: lead <= mql <= sql")
        return self

    def engagement_ids(self) -> set[str]:
        return {r.id for r in self.engagement} | {DECAY}


@dataclass(frozen=True)
class ScoreChange:
    rule: str
    points: int
    reason: str
    part: Literal["fit", "engagement"]


def reasons(contact: Mapping[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in (contact.get("score_reasons") or {}).items()}


def fit_changes(scoring: Scoring, contact: Mapping[str, Any], now: datetime) -> list[ScoreChange]:
    """Bring each fit rule's points in line with whether it holds for the contact now."""
    have = reasons(contact)
    facts = ContactFacts(contact)
    out = []
    for rule in scoring.fit:
        verdict: Verdict = evaluate(rule.if_, facts, now, None)
        wanted = rule.points if verdict.holds else 0
        delta = wanted - have.get(rule.id, 0)
        if delta:
            label = rule.label or rule.id
            why = f"{label}: {verdict.reason}" if verdict.holds else f"no longer {label.lower()}"
            out.append(ScoreChange(rule.id, delta, why, "fit"))
    return out


def period(per: str, at: datetime) -> str:
    if per == "day":
        return at.strftime("%Y-%m-%d")
    if per == "week":
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    if per == "month":
        return at.strftime("%Y-%m")
    return "ever"


def engagement_changes(
    scoring: Scoring, contact: Mapping[str, Any], event: Event
) -> tuple[list[ScoreChange], dict[str, dict[str, Any]]]:
    """Points for what the event shows the contact did, and the caps' new standing."""
    caps = {k: dict(v) for k, v in (contact.get("score_caps") or {}).items()}
    out = []
    for rule in scoring.engagement:
        if not rule.applies_to(event):
            continue
        points = rule.points
        if rule.cap is not None:
            when = period(rule.cap.per, event.occurred_at)
            standing = caps.get(rule.id) or {}
            used = int(standing.get("points", 0)) if standing.get("period") == when else 0
            points = max(0, min(points, rule.cap.points - used)) if points > 0 else points
            if not points:
                continue
            caps[rule.id] = {"period": when, "points": used + points}
        out.append(ScoreChange(rule.id, points, _engagement_reason(rule, event), "engagement"))
    return out, caps


def _engagement_reason(rule: EngagementRule, event: Event) -> str:
    detail = event.properties.get("url") or event.properties.get("form_id") or ""
    label = rule.label or rule.id
    return f"{label} ({event.type} {detail})".replace(" )", ")")


def engagement(contact: Mapping[str, Any], scoring: Scoring) -> int:
    have = reasons(contact)
    return sum(v for k, v in have.items() if k in scoring.engagement_ids())


def decay_change(scoring: Scoring, contact: Mapping[str, Any]) -> ScoreChange | None:
    if scoring.decay is None:
        return None
    loss = scoring.decay.loss(engagement(contact, scoring))
    if not loss:
        return None
    return ScoreChange(DECAY, -loss, "a week without engagement", "engagement")


def next_stage(scoring: Scoring, current: str | None, score: int) -> tuple[Stage, str] | None:
    """The stage the score has reached, if it is further up the ladder than `current`.

    Score moves stages forward only; a stage off the ladder (disqualified, churned) or past SQL
    (opportunity, customer) is for sales and rules to change.
    """
    reached = None
    for stage in AUTO_STAGES:
        threshold = scoring.stages.get(stage.value)
        if threshold is not None and score >= threshold:
            reached = (stage, f"score {score} reached {stage.value} at {threshold}")
    if reached is None:
        return (Stage.SUBSCRIBER, "a new contact") if current is None else None
    moved = lifecycle.move(current, reached[0], Mover.SCORE)
    return (moved, reached[1]) if moved is not None else None
