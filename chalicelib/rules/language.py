"""The rules file (marketing/rules.yaml): when something happens, if a condition holds, then
do these actions. The classics: when a customer's status becomes signed, email finance to
issue the invoice; when a high-value customer has had no follow-up for 30 days, alert the
owner and the owner's manager.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from chalicelib.conditions.language import Condition, Duration, Scalar, Strict, Where, tagged_union
from chalicelib.leads.routing import Channel
from chalicelib.lifecycle import Stage

RULE_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
OWNER = "owner"
MANAGER = "manager"


class When(Strict):
    """What makes the rule look: exactly one kind."""

    event: str | list[str] | None = None
    where: Where = Field(default_factory=dict)
    stage_becomes: Stage | None = None
    field_becomes: dict[str, Scalar] | None = None
    score_below: int | None = None
    inactive_for: Duration | None = None
    no_follow_up_for: Duration | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> When:
        kinds = [k for k in self.kinds() if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("when needs exactly one of: " + ", ".join(self.kinds()))
        if self.where and self.event is None:
            raise ValueError("where filters an event: use it with event")
        return self

    @staticmethod
    def kinds() -> tuple[str, ...]:
        return (
            "event",
            "stage_becomes",
            "field_becomes",
            "score_below",
            "inactive_for",
            "no_follow_up_for",
        )

    @property
    def types(self) -> tuple[str, ...]:
        if self.event is None:
            return ()
        return (self.event,) if isinstance(self.event, str) else tuple(self.event)


class Notify(Strict):
    """Tell people: by email (addresses, or `owner` / `manager` of the lead) and channels."""

    email: list[str] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    title: str
    message: str | None = None

    @model_validator(mode="after")
    def _someone(self) -> Notify:
        if not self.email and not self.channels:
            raise ValueError("notify needs email recipients or channels")
        for who in self.email:
            if who not in (OWNER, MANAGER) and "@" not in who:
                raise ValueError(f"{who!r} is not an email address, owner or manager")
        return self


class NotifyAction(Strict):
    notify: Notify


class TagAction(Strict):
    tag: str


class UntagAction(Strict):
    untag: str


class EnrollAction(Strict):
    enroll: str


class SetAction(Strict):
    set: dict[str, Scalar | None] = Field(min_length=1)


class SetStageAction(Strict):
    set_stage: Stage


ACTION_CLASSES = {
    NotifyAction: "notify",
    TagAction: "tag",
    UntagAction: "untag",
    EnrollAction: "enroll",
    SetAction: "set",
    SetStageAction: "set_stage",
}
Action = tagged_union(ACTION_CLASSES, "action", "one of")


class Rule(Strict):
    id: Annotated[str, Field(pattern=RULE_ID)]
    description: str | None = None
    when: When
    if_: Condition | None = Field(None, alias="if")
    then: list[Action] = Field(min_length=1)


class RuleBook(Strict):
    id: str = "rules"
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> RuleBook:
        ids = [r.id for r in self.rules]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"rule ids must be unique: {', '.join(twice)} used twice")
        return self
