"""The condition language shared by journeys, scoring, routing, rules and segments.

A condition is a mapping with one kind key (field, tag, segment, stage_reached, event,
consent, inactive_for, all, any, not). The kind key doubles as the discriminator, so a
validation error names the condition's own field, and the JSON Schema editors use comes from
these same classes. The small value types every marketing file shares (durations, times of
day, weekdays, property filters) live here too, so that no feature owns what all of them
speak.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    WithJsonSchema,
    model_validator,
)

from chalicelib.conditions import durations
from chalicelib.conditions.patterns import Regex
from chalicelib.lifecycle import Stage


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _duration(value: Any) -> Any:
    return durations.parse(value) if isinstance(value, str) else value


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    # Stored and published as written (3d), so a published body reads back the same.
    PlainSerializer(durations.describe, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": r"^(\d+\s*[wdhms]\s*)+$", "examples": ["3d", "2h", "1w"]}
    ),
]


def _time_of_day(value: Any) -> Any:
    if isinstance(value, str):
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"{value!r} is not a time of day; write HH:MM, like 09:30")
        return time.fromisoformat(value)
    if isinstance(value, int):  # YAML reads 09:30 unquoted as sexagesimal minutes
        return time(value // 60 % 24, value % 60)
    return value


TimeOfDay = Annotated[
    time,
    BeforeValidator(_time_of_day),
    # Published as written (09:30), so a published body reads back the same.
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}),
]
Scalar = str | int | float | bool
Where = dict[str, Scalar | list[Scalar]]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not a time zone; use a name like Asia/Shanghai") from exc
    return value


# An IANA time zone name (Asia/Shanghai), as journeys, broadcasts and routing write them.
ZoneName = Annotated[str, AfterValidator(_zone)]


def file_schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    """The JSON Schema editors use for a content file whose id is its file name."""
    schema = model.model_json_schema(by_alias=True)
    schema["properties"].pop("id", None)
    schema["required"] = [r for r in schema.get("required", []) if r != "id"]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return schema


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        return list(Weekday).index(self)


# --- conditions --------------------------------------------------------------------------


class FieldCondition(Strict):
    """Compare a contact field: email, phone, stage, score, tags or any profile property."""

    field: str
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    in_: list[Scalar] | None = Field(None, alias="in")
    not_in: list[Scalar] | None = None
    exists: bool | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    contains: str | None = None
    matches: Regex | None = None

    @model_validator(mode="after")
    def _has_operator(self) -> FieldCondition:
        if not self.operators():
            raise ValueError(
                "a field condition needs an operator: equals, not_equals, in, not_in, exists, "
                "gt, gte, lt, lte, contains or matches"
            )
        return self

    def operators(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in self.model_dump(by_alias=True, exclude={"field"}).items()
            if value is not None
        }


class TagCondition(Strict):
    tag: str


class SegmentCondition(Strict):
    """Membership of a segment (kept on the contact by the segments engine)."""

    segment: str


class StageCondition(Strict):
    """The contact's lifecycle stage is this one or further up the ladder."""

    stage_reached: Stage


class EventCondition(Strict):
    """The contact did something: at least `min_count` matching events within a window.

    `where: {step: case-study}` means the step of this journey (its email, its link).
    """

    event: str | list[str]
    where: Where = Field(default_factory=dict)
    within: Duration | None = None
    min_count: Annotated[int, Field(ge=1)] = 1
    # Only the contact's first matching event counts: "first visited within 7 days" is new.
    first: bool = False

    @property
    def types(self) -> tuple[str, ...]:
        return (self.event,) if isinstance(self.event, str) else tuple(self.event)

    @model_validator(mode="after")
    def _first_is_one(self) -> EventCondition:
        if self.first and self.min_count != 1:
            raise ValueError("first counts one event: drop min_count")
        return self


class ConsentCondition(Strict):
    """The contact said yes to email on this topic (`*`: every marketing email), and has not
    taken it back since."""

    consent: str


class InactiveCondition(Strict):
    """No activity (a form, a page, a download, an email opened or clicked, any event a
    website tracks) within the window; a contact who was never active is inactive too."""

    inactive_for: Duration


class AllCondition(Strict):
    all: list[Condition] = Field(min_length=1)


class AnyCondition(Strict):
    any: list[Condition] = Field(min_length=1)


class NotCondition(Strict):
    not_: Condition = Field(alias="not")


def tagged_union(classes: dict[type[BaseModel], str], what: str, needs: str) -> Any:
    """A union told apart by which one key the mapping has (its tag), so an error speaks of
    the step's or condition's own fields instead of every member that failed to match. The
    tag pydantic puts in an error's path reads `wait step`, never a key an author writes."""
    kinds = tuple(classes.values())

    def label(key: str | None) -> str | None:
        return f"{key} {what}" if key else None

    def kind(value: Any) -> str | None:
        if isinstance(value, dict):
            present = [k for k in kinds if k in value]
            return label(present[0]) if len(present) == 1 else None
        return label(classes.get(type(value)))

    members = tuple(Annotated[cls, Tag(f"{tag} {what}")] for cls, tag in classes.items())
    return Annotated[
        Union[members],  # noqa: UP007 (built from a tuple)
        Discriminator(
            kind,
            custom_error_type=f"{what}_kind",
            custom_error_message=f"a {what} needs exactly {needs}: " + ", ".join(kinds),
        ),
    ]


CONDITION_CLASSES: dict[type[BaseModel], str] = {
    FieldCondition: "field",
    TagCondition: "tag",
    SegmentCondition: "segment",
    StageCondition: "stage_reached",
    EventCondition: "event",
    ConsentCondition: "consent",
    InactiveCondition: "inactive_for",
    AllCondition: "all",
    AnyCondition: "any",
    NotCondition: "not",
}
Condition = tagged_union(CONDITION_CLASSES, "condition", "one of")


AllCondition.model_rebuild()
AnyCondition.model_rebuild()
NotCondition.model_rebuild()
