"""The journey language: what a marketer writes in marketing/journeys/*.yaml.

Each step is a mapping with an `id` and exactly one action key (send_email, wait, wait_for,
branch, split, update, handoff, webhook, enroll, end); conditions are the shared language of
`chalicelib.conditions`. The action key doubles as the
discriminator, so a validation error names the step's own field, and the JSON Schema that
editors use comes from these same classes.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from chalicelib.conditions import durations
from chalicelib.conditions.language import (
    Condition,
    Duration,
    Scalar,
    Strict,
    TimeOfDay,
    Weekday,
    Where,
    ZoneName,
    tagged_union,
)
from chalicelib.lifecycle import Stage

STEP_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"
JOURNEY_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"
StepId = Annotated[str, Field(pattern=STEP_ID)]


# --- steps -------------------------------------------------------------------------------


class SendEmail(Strict):
    template: str
    subject: str = Field(min_length=1, max_length=200)
    from_: str | None = Field(None, alias="from")
    reply_to: str | None = None
    topic: str | None = None
    transactional: bool = False

    @property
    def marketing(self) -> bool:
        """Marketing mail obeys quiet hours, send days and the frequency cap."""
        return not self.transactional


class WaitUntil(Strict):
    """A weekday and time in the contact's zone, or a date field (yearly for birthdays)."""

    weekday: Weekday | list[Weekday] | None = None
    date_field: str | None = None
    yearly: bool = False
    at: TimeOfDay = time(9, 0)

    @model_validator(mode="after")
    def _one_kind(self) -> WaitUntil:
        if (self.weekday is None) == (self.date_field is None):
            raise ValueError("wait until needs either weekday or date_field")
        if self.yearly and self.date_field is None:
            raise ValueError("yearly goes with date_field")
        return self

    @property
    def weekdays(self) -> tuple[Weekday, ...]:
        if self.weekday is None:
            return ()
        return (self.weekday,) if isinstance(self.weekday, Weekday) else tuple(self.weekday)


class WaitSpec(Strict):
    for_: Duration | None = Field(None, alias="for")
    until: WaitUntil | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> WaitSpec:
        if (self.for_ is None) == (self.until is None):
            raise ValueError("wait needs either a duration (wait: 3d) or until")
        return self


def _wait(value: Any) -> Any:
    return {"for": value} if isinstance(value, str) else value


class WaitFor(Strict):
    event: str | list[str]
    where: Where = Field(default_factory=dict)
    timeout: Duration | None = None
    on_event: StepId | None = None
    on_timeout: StepId | None = None

    @property
    def types(self) -> tuple[str, ...]:
        return (self.event,) if isinstance(self.event, str) else tuple(self.event)


class Case(Strict):
    when: Condition
    goto: StepId


class Branch(Strict):
    cases: list[Case] = Field(min_length=1)
    otherwise: StepId | None = None


class SplitPath(Strict):
    percent: Annotated[int, Field(ge=1, le=100)]
    goto: StepId | None = None
    holdout: bool = False

    @model_validator(mode="after")
    def _goto_or_holdout(self) -> SplitPath:
        if (self.goto is None) != self.holdout:
            raise ValueError("a split path needs either goto or holdout: true")
        return self


class Tags(Strict):
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class Update(Strict):
    score: int | None = None
    tags: Tags | None = None
    fields: dict[str, Scalar | None] | None = None
    stage: Stage | None = None

    @model_validator(mode="after")
    def _something(self) -> Update:
        if self.score is None and self.tags is None and not self.fields and self.stage is None:
            raise ValueError("update needs score, tags, fields or stage")
        return self


class Handoff(Strict):
    reason: str | None = None
    priority: Literal["low", "normal", "high"] = "normal"
    team: str | None = None


class Webhook(Strict):
    """Where to post: `url`, or `url_env`, an environment variable holding it (so a secret
    URL stays out of git and each stage can point elsewhere)."""

    url: Annotated[str, Field(pattern=r"^https://[^\s]+$")] | None = None  # no plain http
    url_env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_target(self) -> Webhook:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("a webhook needs exactly one of url or url_env")
        return self


class EndSpec(Strict):
    reason: str | None = None


class _Step(Strict):
    id: StepId
    next: StepId | None = None
    label: str | None = None


class SendEmailStep(_Step):
    send_email: SendEmail


class WaitStep(_Step):
    wait: Annotated[WaitSpec, BeforeValidator(_wait)]


class WaitForStep(_Step):
    wait_for: WaitFor


class BranchStep(_Step):
    branch: Branch


class SplitStep(_Step):
    split: list[SplitPath] = Field(min_length=2)

    @field_validator("split")
    @classmethod
    def _hundred(cls, paths: list[SplitPath]) -> list[SplitPath]:
        total = sum(p.percent for p in paths)
        if total != 100:
            raise ValueError(f"split percentages add up to {total}, not 100")
        return paths


class UpdateStep(_Step):
    update: Update


class HandoffStep(_Step):
    handoff: Handoff = Field(default_factory=Handoff)


class WebhookStep(_Step):
    webhook: Webhook


class EnrollStep(_Step):
    enroll: Annotated[str, Field(pattern=JOURNEY_ID)]


class EndStep(_Step):
    end: EndSpec | None = None


STEP_CLASSES: dict[type[BaseModel], str] = {
    SendEmailStep: "send_email",
    WaitStep: "wait",
    WaitForStep: "wait_for",
    BranchStep: "branch",
    SplitStep: "split",
    UpdateStep: "update",
    HandoffStep: "handoff",
    WebhookStep: "webhook",
    EnrollStep: "enroll",
    EndStep: "end",
}
Step = tagged_union(STEP_CLASSES, "step", "one action")


def kind_of(step: BaseModel) -> str:
    return STEP_CLASSES[type(step)]


# --- the journey -------------------------------------------------------------------------


class Trigger(Strict):
    """An event with property filters, or entry into a segment."""

    event: str | None = None
    where: Where = Field(default_factory=dict)
    segment: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Trigger:
        if (self.event is None) == (self.segment is None):
            raise ValueError("a trigger needs either event or segment")
        if self.segment is not None and self.where:
            raise ValueError("where filters go with an event trigger")
        return self


def _reentry(value: Any) -> Any:
    if value in ("never", "always") or not isinstance(value, str):
        return value
    try:
        durations.parse(value)
    except ValueError as exc:
        if "not a duration" not in str(exc):
            raise
        raise ValueError(f"{value!r} is not never, always or a period like 30d") from exc
    return {"after": value}


class ReentryAfter(Strict):
    after: Duration


class Entry(Strict):
    conditions: list[Condition] = Field(default_factory=list)
    reentry: Annotated[
        Literal["never", "always"] | ReentryAfter,
        BeforeValidator(_reentry),
        WithJsonSchema(
            {
                "description": "never, always, or a period such as 30d",
                "anyOf": [
                    {"enum": ["never", "always"]},
                    {"type": "string", "pattern": r"^(\d+\s*[wdhms]\s*)+$"},
                ],
            }
        ),
    ] = "never"
    max_active: Annotated[int, Field(ge=1)] | None = None


class QuietHours(Strict):
    """Marketing sends inside this window wait for its end (it may wrap past midnight)."""

    start: TimeOfDay
    end: TimeOfDay


def _some_days(value: list[Weekday]) -> list[Weekday]:
    if not value:
        raise ValueError("send_days needs at least one day (or leave it out for every day)")
    return value


# The weekdays marketing email may go on (journeys and broadcasts): at least one.
SendDays = Annotated[list[Weekday], AfterValidator(_some_days)]


class FrequencyCap(Strict):
    """At most `max` marketing emails per `per`, counted across all journeys."""

    max: Annotated[int, Field(ge=1)] = 1
    per: Duration


class Goal(Strict):
    """The conversion a report counts: this event within `within` of entering."""

    event: str
    where: Where = Field(default_factory=dict)
    within: Duration = timedelta(days=30)


class Journey(Strict):
    id: Annotated[str, Field(pattern=JOURNEY_ID)]
    name: str
    description: str | None = None
    trigger: Trigger
    entry: Entry = Field(default_factory=Entry)
    timezone: ZoneName = "UTC"
    quiet_hours: QuietHours | None = None
    send_days: SendDays | None = None
    frequency_cap: FrequencyCap | None = None
    exit_when: list[Condition] = Field(default_factory=list)
    goal: Goal | None = None
    steps: list[Step] = Field(min_length=1)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


Case.model_rebuild()
Branch.model_rebuild()
BranchStep.model_rebuild()
Entry.model_rebuild()
Journey.model_rebuild()


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors use to validate and complete journey files (id comes from the
    file name, so it is not asked for)."""
    schema = Journey.model_json_schema(by_alias=True)
    wait = schema["$defs"]["WaitStep"]["properties"]["wait"]
    duration = {"type": "string", "pattern": r"^(\d+\s*[wdhms]\s*)+$", "examples": ["3d", "2h"]}
    schema["$defs"]["WaitStep"]["properties"]["wait"] = {"anyOf": [duration, wait]}
    schema["properties"].pop("id", None)
    schema["required"] = [r for r in schema.get("required", []) if r != "id"]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Leadflow journey"
    return schema
