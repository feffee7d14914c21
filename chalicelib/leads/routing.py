"""Lead routing (marketing/routing.yaml): which team gets a lead, and whose turn it is. Pure.

Rules are tried in order (territory, industry, product line, company size: any condition on
the contact); the first that holds names the team, else the fallback team does. Within a team
owners take turns by weight. The turn number comes from an atomic counter in the store, so
concurrent hand-offs never read the same turn: 1,000 leads over four equal owners give each
exactly 250.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from chalicelib.conditions.evaluation import ContactFacts, evaluate
from chalicelib.conditions.language import Condition, Duration, Strict, TimeOfDay, Weekday

ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Id = Annotated[str, Field(pattern=ID)]
Address = Annotated[str, Field(pattern=EMAIL)]
ChannelKind = Literal["webhook", "slack", "wecom", "dingtalk", "feishu"]


class Person(Strict):
    name: str
    email: Address


class Away(Strict):
    from_: date = Field(alias="from")
    to: date

    def covers(self, day: date) -> bool:
        return self.from_ <= day <= self.to


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
    return value


Language = Literal["en", "zh-CN"]


class Owner(Strict):
    id: Id
    name: str
    email: Address
    weight: int = Field(1, ge=0)
    capacity: int | None = Field(None, gt=0)
    out_of_office: list[Away] = Field(default_factory=list)
    timezone: str | None = None
    """Where the owner works, if not where the team's business hours are."""
    language: Language | None = None
    """What sales pages and emails speak to this owner, if not the team's language."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return _zone(value)

    def away_on(self, day: date) -> bool:
        return any(a.covers(day) for a in self.out_of_office)


class Channel(Strict):
    """A chat robot or webhook the team hears about leads on. Keep secrets out of git:
    `url_env` and `secret_env` name environment variables that hold them."""

    kind: ChannelKind
    url: str | None = Field(None, pattern=r"^https?://\S+$")
    url_env: str | None = None
    secret_env: str | None = None

    @model_validator(mode="after")
    def _one_url(self) -> Channel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("a channel needs exactly one of url or url_env")
        return self


class BusinessHours(Strict):
    timezone: str = "UTC"
    days: list[Weekday] = Field(default_factory=lambda: list(Weekday)[:5])
    start: TimeOfDay = time(9, 0)
    end: TimeOfDay = time(18, 0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return _zone(value)

    @model_validator(mode="after")
    def _some_time(self) -> BusinessHours:
        if self.start >= self.end or not self.days:
            raise ValueError("business hours need days and a start before the end")
        return self


class Team(Strict):
    id: Id
    name: str | None = None
    manager: Person | None = None
    members: list[Owner] = Field(min_length=1)
    notify: list[Channel] = Field(default_factory=list)
    sla: Duration | None = None
    business_hours: BusinessHours | None = None
    language: Language = "en"

    def slots(self) -> list[Owner]:
        """One round of turns: each owner as often as its weight, interleaved smoothly
        (weights 2 and 1 give A, B, A rather than A, A, B)."""
        members = [m for m in self.members if m.weight > 0]
        total = sum(m.weight for m in members)
        current = {m.id: 0 for m in members}
        out = []
        for _ in range(total):
            for m in members:
                current[m.id] += m.weight
            best = max(members, key=lambda m: current[m.id])
            current[best.id] -= total
            out.append(best)
        return out

    def owner(self, owner_id: str) -> Owner | None:
        return next((m for m in self.members if m.id == owner_id), None)


class RoutingRule(Strict):
    id: Id | None = None
    if_: Condition = Field(alias="if")
    team: Id
    sla: Duration | None = None


class Routing(Strict):
    id: str = "routing"
    teams: list[Team] = Field(min_length=1)
    rules: list[RoutingRule] = Field(default_factory=list)
    fallback: Id
    sla: Duration = timedelta(hours=2)
    follow_up_within: Duration = timedelta(days=30)
    verify_after: Duration | None = timedelta(days=180)
    """A contact quiet this long gets a verification task (null: never)."""

    @model_validator(mode="after")
    def _known_teams(self) -> Routing:
        ids = [t.id for t in self.teams]
        if len(set(ids)) != len(ids):
            raise ValueError("team ids must be unique")
        for name in [self.fallback, *(r.team for r in self.rules)]:
            if name not in ids:
                raise ValueError(f"there is no team {name!r} (teams: {', '.join(ids)})")
        owners = [m.id for t in self.teams for m in t.members]
        twice = sorted({o for o in owners if owners.count(o) > 1})
        if twice:
            raise ValueError(f"an owner belongs to one team only: {', '.join(twice)}")
        return self

    def team(self, team_id: str) -> Team:
        return next(t for t in self.teams if t.id == team_id)

    def owner(self, owner_id: str) -> tuple[Team, Owner] | None:
        for team in self.teams:
            found = team.owner(owner_id)
            if found is not None:
                return team, found
        return None

    def locale(self, owner_id: str) -> Locale:
        """The time zone and language an owner reads in: the owner's own, else the team's."""
        found = self.owner(owner_id)
        if found is None:
            return Locale()
        team, owner = found
        hours = team.business_hours
        zone = owner.timezone or (hours.timezone if hours else "UTC")
        return Locale(zone, owner.language or team.language)


@dataclass(frozen=True)
class Locale:
    timezone: str = "UTC"
    language: str = "en"

    def time(self, at: datetime) -> str:
        """`2026-12-01 17:00 CET`: a moment as the owner reads it on their own clock."""
        local = at.astimezone(ZoneInfo(self.timezone))
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


@dataclass(frozen=True)
class Route:
    team: Team
    rule: str
    reason: str
    sla: timedelta


def route(routing: Routing, contact: Mapping[str, Any], now: datetime, team: str | None = None):
    """The team for a contact: a named team (a journey step said so), the first rule that
    holds, or the fallback."""
    if team is not None and team in {t.id for t in routing.teams}:
        chosen = routing.team(team)
        return Route(chosen, "step", f"the journey asked for team {team}", sla_for(routing, chosen))
    facts = ContactFacts(contact)
    for i, rule in enumerate(routing.rules):
        verdict = evaluate(rule.if_, facts, now, None)
        if verdict.holds:
            chosen = routing.team(rule.team)
            return Route(
                chosen,
                rule.id or f"rules[{i}]",
                verdict.reason,
                rule.sla or sla_for(routing, chosen),
            )
    fallback = routing.team(routing.fallback)
    return Route(fallback, "fallback", "no routing rule matched", sla_for(routing, fallback))


def sla_for(routing: Routing, team: Team) -> timedelta:
    return team.sla or routing.sla


def candidates(team: Team, turn: int, now: datetime, exclude: set[str]) -> list[Owner]:
    """Owners in the order to try from this turn: whose turn it is first, then the next ones,
    skipping who is out of office or excluded (a lead is not recycled to the same owner)."""
    slots = team.slots()
    if not slots:
        return []
    ordered: list[Owner] = []
    for i in range(len(slots)):
        owner = slots[(turn + i) % len(slots)]
        if owner in ordered or owner.id in exclude or owner.away_on(now.date()):
            continue
        ordered.append(owner)
    return ordered
