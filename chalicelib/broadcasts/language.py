"""The broadcast language: what a marketer writes in marketing/broadcasts/*.yaml.

A broadcast is one email to everyone in a segment or list, once: at a time in the
broadcast's zone, or at that local time in each contact's own zone. It obeys consent,
topics and suppressions like every marketing email, plus its own quiet hours, send days and
frequency cap. An A/B test sends two or more variants (subject, template) to a test share,
waits, picks the variant with the best unique open or click rate, and sends it to the rest.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, field_validator, model_validator

from chalicelib.conditions.language import Duration, Strict, ZoneName, file_schema
from chalicelib.journeys.language import FrequencyCap, QuietHours, SendDays

BROADCAST_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"
VARIANT_ID = r"^[a-z0-9][a-z0-9_-]{0,30}$"
DEFAULT_TOPIC = "marketing"


class Audience(Strict):
    """Who gets it: the members of a segment or list, less the members of `exclude`."""

    segment: str
    exclude: list[str] = Field(default_factory=list)


def _one_line(value: str | None) -> str | None:
    if value is not None and any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        raise ValueError("must be one line, without control characters")
    return value


# A header's value (subject, sender): a line break would end the header and start another.
OneLine = Annotated[str, AfterValidator(_one_line)]


class BroadcastEmail(Strict):
    template: str
    subject: OneLine = Field(min_length=1, max_length=200)
    from_: OneLine | None = Field(None, alias="from")
    reply_to: OneLine | None = None
    topic: str = DEFAULT_TOPIC


class Variant(Strict):
    """One arm of an A/B test: what it changes from `email` (the subject, the template)."""

    id: Annotated[str, Field(pattern=VARIANT_ID)]
    subject: OneLine | None = Field(None, min_length=1, max_length=200)
    template: str | None = None


class AbTest(Strict):
    variants: list[Variant] = Field(min_length=2, max_length=5)
    # The percentage of the audience that gets a test variant; the rest get the winner.
    share: Annotated[int, Field(ge=1, le=100)] = 20
    wait: Duration = timedelta(hours=4)
    metric: Literal["unique_opens", "unique_clicks"] = "unique_opens"

    @field_validator("variants")
    @classmethod
    def _distinct(cls, value: list[Variant]) -> list[Variant]:
        names = [v.id for v in value]
        if len(set(names)) != len(names):
            raise ValueError(f"variant ids must differ: {', '.join(names)}")
        return value


class Broadcast(Strict):
    id: Annotated[str, Field(pattern=BROADCAST_ID)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str | None = None
    audience: Audience
    email: BroadcastEmail
    # When it goes: a time in `timezone` (or with its own offset), or in each contact's zone.
    send_at: datetime
    timezone: ZoneName = "UTC"
    local_time: bool = False
    quiet_hours: QuietHours | None = None
    send_days: SendDays | None = None
    frequency_cap: FrequencyCap | None = None
    ab_test: AbTest | None = None

    @field_validator("send_at")
    @classmethod
    def _this_millennium(cls, value: datetime) -> datetime:
        if not 2000 <= value.year <= 2999:
            raise ValueError(f"{value.isoformat()} is not a date to send on (2000 to 2999)")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Broadcast:
        if self.local_time and self.send_at.tzinfo is not None:
            raise ValueError(
                "send_at: with local_time the time is each contact's own; "
                "write it without an offset, like 2026-12-10T09:00"
            )
        if self.local_time and self.ab_test is not None:
            raise ValueError(
                "ab_test: an A/B test needs one send time to measure from; "
                "it cannot go with local_time"
            )
        if self.audience.segment in self.audience.exclude:
            raise ValueError("audience: a segment cannot exclude itself")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def variants(self) -> list[Variant]:
        """The arms of the test, or none."""
        return list(self.ab_test.variants) if self.ab_test else []

    def templates(self) -> set[str]:
        return {self.email.template} | {v.template for v in self.variants if v.template}

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors use for broadcast files (the id is the file name)."""
    return file_schema(Broadcast, "Leadflow broadcast")
