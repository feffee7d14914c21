"""Put requests built straight from values, for writes in bulk (an import's thousands of rows).

`TransactWrite.save(Model(**values), condition)` builds a model instance (descriptors,
defaults, a container walk) and then serializes it: most of an import's own time went there.
`put` serializes each value with the model's own attribute, so the request is the one PynamoDB
would send (tests/unit/test_puts.py compares them), with the condition serialized once per
model and kept. Three attribute types take a shorter path to the same text: a raw map (a
contact's properties, an event's: PynamoDB looks up an attribute class for each value, at
every level), a timestamp (a row's keys, contact and event share one `now`: formatted once)
and a number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from pynamodb.attributes import (
    Attribute,
    MapAttribute,
    NumberAttribute,
    UTCDateTimeAttribute,
    _get_class_for_serialize,
)
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

Request = dict[str, Any]


def put(
    model: type[Model],
    values: Mapping[str, Any],
    condition: Condition | Mapping[str, Any] | None = None,
) -> Request:
    """The Put of a transaction (or a PutItem's arguments) for a new item of `model` holding
    `values`. Attributes left out, or given as None, take their defaults as a new instance's
    would (`default_for_new`, else `default`); one with neither is left out if it may be
    null, and refused if not. `condition` may come serialized already (`serialized`)."""
    item: dict[str, dict[str, Any]] = {}
    for name, attr, serialize in _attributes(model):
        value = values.get(name)
        default = attr.default_for_new if attr.default_for_new is not None else attr.default
        if value is None and default is not None:
            value = default() if callable(default) else default
        serialized = None if value is None else serialize(value)
        if serialized is None:
            if not attr.null:
                raise ValueError(f"{model.__name__}.{name} needs a value")
            continue
        item[attr.attr_name] = {attr.attr_type: serialized}
    request: Request = {"TableName": model.Meta.table_name, "Item": item}
    if isinstance(condition, Mapping):
        request.update(condition)
    elif condition is not None:
        request.update(_condition(model, condition))
    return request


def serialized(condition: Condition) -> Request:
    """A condition's expression with its names and values, for one built once and used for
    many items: building and serializing it again for each row was a tenth of an import."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    parts: Request = {"ConditionExpression": condition.serialize(names, values)}
    if names:
        parts["ExpressionAttributeNames"] = {v: k for k, v in names.items()}
    if values:
        parts["ExpressionAttributeValues"] = values
    return parts


def with_value(parts: Request, value: str) -> Request:
    """A serialized condition that holds one string value, with `value` in its place."""
    (placeholder,) = parts["ExpressionAttributeValues"]
    return {**parts, "ExpressionAttributeValues": {placeholder: {"S": value}}}


@cache
def _attributes(
    model: type[Model],
) -> tuple[tuple[str, Attribute[Any], Callable[[Any], Any]], ...]:
    return tuple((name, attr, _serializer(attr)) for name, attr in model.get_attributes().items())


def _serializer(attr: Attribute[Any]) -> Callable[[Any], Any]:
    """`attr.serialize`, or a shorter path to the same value for the common types."""
    kind = type(attr)
    if kind is MapAttribute:  # raw: every value is typed by what it holds
        return _raw_map
    if kind is UTCDateTimeAttribute:
        return _timestamp
    if kind is NumberAttribute:
        return _number
    return attr.serialize


def _raw_map(values: Any) -> Any:
    if type(values) is not dict:
        return MapAttribute().serialize(values)
    return {name: _typed(value) for name, value in values.items()}


def _typed(value: Any) -> dict[str, Any]:
    """A raw map's or list's value as PynamoDB types it (`_get_class_for_serialize`)."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is dict:
        return {"M": {name: _typed(v) for name, v in value.items()}}
    if kind is bool:
        return {"BOOL": value}
    if kind is int or kind is float:
        return {"N": json.dumps(value)}
    if kind is list:
        return {"L": [_typed(v) for v in value]}
    if value is None:
        return {"NULL": True}
    attr = _get_class_for_serialize(value)  # sets, bytes, map instances: PynamoDB's own
    serialized = attr.serialize(value)
    return {"NULL": True} if serialized is None else {attr.attr_type: serialized}


def _timestamp(value: datetime) -> str:
    # Kept only for UTC: in a zone with a fold, two times an hour apart compare equal.
    if value.tzinfo is UTC:
        return _utc_timestamp(value)
    return _TIMESTAMP.serialize(value)


@lru_cache(maxsize=256)
def _utc_timestamp(value: datetime) -> str:
    return _TIMESTAMP.serialize(value)


def _number(value: Any) -> str:
    return str(value) if type(value) is int else json.dumps(value)


_TIMESTAMP = UTCDateTimeAttribute()


_constant: dict[str, Request] = {}


def _condition(model: type[Model], condition: Condition) -> Request:
    """ConditionExpression with its names and values. One that holds no value (an item that
    must not exist yet) is serialized once and kept; one with values (a key that may already
    be this contact's) each time, so the cache stays as small as the code's conditions."""
    text = repr(condition)  # the condition with its values: what tells two apart
    if text in _constant:
        return _constant[text]
    parts = serialized(condition)
    if "ExpressionAttributeValues" not in parts:
        _constant[text] = parts
    return parts
