"""DynamoDB's typed values read straight into Python's, as PynamoDB reads them.

A journey's every event reads the contact's enrollments, and building a PynamoDB model for
each (descriptors, defaults, a container walk per map) was a sixth of the pipeline worker's
CPU in a burst of leads. A domain object that only needs the values reads them here instead:
the same values `Model.from_raw_data` would give (tests/unit/test_typed.py compares them).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.attributes import UTCDateTimeAttribute

Item = dict[str, dict[str, Any]]


def value(typed: dict[str, Any]) -> Any:
    """One typed value as a raw map holds it: numbers as int or float, sets as sets."""
    ((kind, raw),) = typed.items()
    if kind == "S":
        return raw
    if kind == "M":
        return {name: value(v) for name, v in raw.items()}
    if kind == "N":
        return _number(raw)
    if kind == "L":
        return [value(v) for v in raw]
    if kind == "BOOL" or kind == "B":
        return raw
    if kind == "NULL":
        return None
    if kind == "SS" or kind == "BS":
        return set(raw)
    if kind == "NS":
        return {_number(n) for n in raw}
    raise ValueError(f"not a DynamoDB type: {kind}")


def field(item: Item, name: str) -> Any:
    """An attribute's value, or None where the item has none (or a NULL), as a model reads it
    before its default applies."""
    typed = item.get(name)
    if not typed or "NULL" in typed:
        return None
    return value(typed)


def timestamp(item: Item, name: str) -> datetime | None:
    typed = item.get(name)
    if not typed or "NULL" in typed:
        return None
    return _TIMESTAMP.deserialize(typed["S"])


def _number(text: str) -> Any:
    return int(text) if text.isascii() and text.isdigit() else json.loads(text)


_TIMESTAMP = UTCDateTimeAttribute()
