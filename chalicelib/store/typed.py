"""DynamoDB's typed values read straight into Python's, as PynamoDB reads them.

Every event a journey sees reads the contact's enrollments, most handlers read the contact
and its timeline, and a broadcast reads its audience a page of 100 contacts at a time;
building a PynamoDB model for each (descriptors, defaults, a container walk per map) was a
sixth of the pipeline worker's CPU in a burst of leads. A store that only needs the values
reads them here instead, with the requests PynamoDB sends: the same values
`Model.from_raw_data` gives, as plain Python (tests/unit/test_typed.py compares them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

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


def values(model: type[Model], item: Item) -> dict[str, Any]:
    """Every attribute of `model` by its name, as a model read from `item` holds it (maps
    as dicts): what is missing or NULL takes the attribute's default, else None."""
    out: dict[str, Any] = {}
    for name, stored, read, default in _plan(model):
        typed = item.get(stored)
        if typed and "NULL" not in typed:
            out[name] = read(typed)
        else:
            out[name] = default() if callable(default) else default
    return out


def model_values(instance: Model) -> dict[str, Any]:
    """What `values` gives for an item, from a model already built (maps as dicts)."""
    out: dict[str, Any] = {}
    for name in type(instance).get_attributes():
        read = getattr(instance, name)
        out[name] = read.as_dict() if hasattr(read, "as_dict") else read
    return out


def batch_get(model: type[Model], keys: Iterable[str], consistent: bool = True) -> Iterator[Item]:
    """The raw items of `model` (keyed by a text hash key alone) for `keys`, in BatchGetItem
    requests of 100 with what DynamoDB left unprocessed asked again, as `Model.batch_get`
    asks: the items, not models."""
    connection = model._get_connection()
    table = model.Meta.table_name
    name = model._hash_key_attribute().attr_name  # type: ignore[attr-defined]
    wanted = [{name: {"S": key}} for key in sorted(set(keys))]
    for start in range(0, len(wanted), BATCH_GET_KEYS):
        page: list[Any] | None = wanted[start : start + BATCH_GET_KEYS]
        while page:
            answer = connection.batch_get_item(page, consistent_read=consistent)
            yield from (answer.get("Responses") or {}).get(table, ())
            page = (answer.get("UnprocessedKeys") or {}).get(table, {}).get("Keys")


def query(
    model: type[Model],
    hash_key: str,
    *,
    limit: int | None = None,
    forward: bool | None = None,
    consistent: bool = False,
) -> Iterator[Item]:
    """The raw items of one partition, as `Model.query(hash_key, ...)` asks for them: each
    request with `limit` as its Limit, the next page only while more are wanted."""
    connection = model._get_connection()
    start = None
    left = limit
    while left != 0:
        page = connection.query(
            hash_key,
            consistent_read=consistent,
            exclusive_start_key=start,
            scan_index_forward=forward,
            limit=limit,
        )
        for item in page.get("Items") or ():
            if left == 0:
                return
            yield item
            if left is not None:
                left -= 1
        start = page.get("LastEvaluatedKey")
        if not start:
            return


BATCH_GET_KEYS = 100
Reader = Callable[[dict[str, Any]], Any]


@cache
def _plan(model: type[Model]) -> tuple[tuple[str, str, Reader, Any], ...]:
    if model._get_discriminator_attribute() is not None:  # type: ignore[attr-defined]
        raise TypeError(f"{model.__name__} reads as one of its subclasses: use the model")
    for name, attr in model.get_attributes().items():
        default = attr.default
        if not (default is None or callable(default) or isinstance(default, _IMMUTABLE)):
            raise TypeError(f"{model.__name__}.{name}: a mutable default would be shared")
    return tuple(
        (name, attr.attr_name, _reader(attr), attr.default)
        for name, attr in model.get_attributes().items()
    )


def _reader(attr: Attribute[Any]) -> Reader:
    kind = type(attr)
    if kind is UnicodeAttribute:
        return lambda typed: typed["S"]
    if kind is NumberAttribute:
        return lambda typed: _number(typed["N"])
    if kind is UTCDateTimeAttribute:
        return lambda typed: _TIMESTAMP.deserialize(typed["S"])
    if kind is MapAttribute:  # raw: every value typed by what it holds
        return lambda typed: value({"M": typed["M"]})
    if kind is UnicodeSetAttribute:
        return lambda typed: set(typed["SS"])
    if kind is BooleanAttribute:
        return lambda typed: bool(typed["BOOL"])

    def modelled(typed: dict[str, Any]) -> Any:
        read = attr.deserialize(attr.get_value(typed))
        return read.as_dict() if hasattr(read, "as_dict") else read

    return modelled


def _number(text: str) -> Any:
    if text.isascii() and text.isdigit() and (text[0] != "0" or len(text) == 1):
        return int(text)
    return json.loads(text)


_TIMESTAMP = UTCDateTimeAttribute()
_IMMUTABLE = (str, int, float, bool, bytes)
