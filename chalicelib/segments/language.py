"""The segment language: what a marketer writes in marketing/segments/*.yaml.

A dynamic segment is a name and a condition (`when`) in the shared condition language; a
contact is in it while the condition holds. A static list (`static: true`) has no condition:
people are added and removed by the API, the CLI or an import, never by rules.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from chalicelib.conditions.language import Condition, Strict, file_schema

SEGMENT_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"


class Segment(Strict):
    id: Annotated[str, Field(pattern=SEGMENT_ID)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str | None = None
    when: Condition | None = None
    static: bool = False

    @model_validator(mode="after")
    def _dynamic_or_static(self) -> Segment:
        if self.when is not None and self.static:
            raise ValueError(
                "static: a list has no condition: give when (who is in it) or static: true "
                "(a list people are added to), not both"
            )
        if self.when is None and not self.static:
            raise ValueError(
                "when: a segment needs a condition (who is in it), or static: true for a list "
                "people are added to"
            )
        return self

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors use for segment files (the id is the file name)."""
    return file_schema(Segment, "Leadflow segment")
