"""Lifecycle stages, their ladder, and the one function that moves a contact's stage."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Lifecycle stages; the first six form a ladder that `stage_reached` climbs."""

    SUBSCRIBER = "subscriber"
    LEAD = "lead"
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    DISQUALIFIED = "disqualified"
    CHURNED = "churned"


LADDER = (Stage.SUBSCRIBER, Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER)


class Mover(StrEnum):
    """Who asks for a stage: the score and journeys only climb; rules and sales decide."""

    SCORE = "score"
    JOURNEY = "journey"
    RULE = "rule"
    SALES = "sales"

    @property
    def explicit(self) -> bool:
        """An explicit decision (a rule's set_stage, a salesperson's action) may go back."""
        return self in (Mover.RULE, Mover.SALES)


def move(current: str | None, target: Stage, by: Mover) -> Stage | None:
    """The stage a contact moves to when `by` asks for `target`, or None when it stays.

    Forward means up the ladder, or off it (disqualified, churned) from a ladder stage; a
    contact off the ladder, or at a stage we do not know, leaves it only by an explicit move.
    """
    if current == target:
        return None
    if by.explicit or not current:
        return target
    if current not in LADDER:
        return None
    if target not in LADDER:
        return target
    return target if LADDER.index(target) > LADDER.index(Stage(current)) else None


def reached(current: str | None, wanted: Stage) -> bool:
    """Whether a contact at `current` has reached `wanted`: that stage or further up the
    ladder; a stage off the ladder is reached only by being in it."""
    if wanted not in LADDER or current not in LADDER:
        return current == wanted
    return LADDER.index(Stage(current)) >= LADDER.index(wanted)
