"""A write request's repeated work in ministack, done once, with the same answers.

Replayed from a 2,000-row import, ministack's TransactWriteItems spent about a third of its
CPU on work whose answer it already had or never used:

- Capacity nobody asked for. After the writes it measures every item, old and new, and the
  write units of every index, for a ConsumedCapacity the request did not ask for (its
  `ReturnConsumedCapacity` is NONE) and for the sizes a retry with the same token would report
  it: such a retry carries the same NONE, since any other value makes it a different request
  (IdempotentParameterMismatch). With NONE, the index units and vector bytes, which only
  feed that answer, are not worked out (BatchWriteItem too, which adds them up before it looks).
- An item measured twice. A Put's item is measured against the 400 KB cap when it is checked
  (after its numbers are made canonical) and again for the capacity; nothing changes it in
  between, so within one request the second answer is the first (remembered by identity, the
  item held so its identity cannot be reused).
- A condition evaluated twice against an empty item. Each action's condition is evaluated
  against no item first, to find a malformed one, and again against the item it targets; for
  a new item that is no item again, with the same expression, names and values (compared by
  content, as the checks between may make a number canonical). The first outcome is kept.

Loaded by emulator_main.py, inside ministack's process; it imports nothing of Leadflow's.
"""

from __future__ import annotations

import contextvars
from typing import Any

import orjson

_unasked: contextvars.ContextVar[bool] = contextvars.ContextVar("unasked", default=False)
"""True while a write request that asked for no ConsumedCapacity runs."""
_sizes: contextvars.ContextVar[dict[int, tuple[Any, int]] | None] = contextvars.ContextVar(
    "sizes", default=None
)
"""While a write request runs: id(item) -> (item, size)."""
_conditions: contextvars.ContextVar[dict[tuple[Any, ...], bool] | None] = contextvars.ContextVar(
    "conditions", default=None
)
"""While a transaction runs: (expression, names, values) -> outcome against an empty item."""


def _asked_for_capacity(data: Any) -> bool:
    return not isinstance(data, dict) or data.get("ReturnConsumedCapacity", "NONE") != "NONE"


def _condition_key(expression: Any, values: Any, names: Any) -> tuple[Any, ...] | None:
    try:
        option = orjson.OPT_SORT_KEYS
        return (expression, orjson.dumps(values, option=option), orjson.dumps(names, option=option))
    except TypeError:  # something JSON cannot hold: evaluated every time
        return None


def install() -> None:
    """Wrap ministack's write requests and the checks they repeat."""
    from ministack.services import dynamodb

    def within_request(handler: Any, conditions: bool) -> Any:
        def handle(data: Any) -> Any:
            tokens = [
                (_unasked, _unasked.set(not _asked_for_capacity(data))),
                (_sizes, _sizes.set({})),
            ]
            if conditions:
                tokens.append((_conditions, _conditions.set({})))
            try:
                return handler(data)
            finally:
                for var, token in reversed(tokens):
                    var.reset(token)

        return handle

    item_size = dynamodb._item_size_bytes

    def remembered_size(item: Any) -> int:
        sizes = _sizes.get()
        if sizes is None or type(item) is not dict:
            return item_size(item)
        known = sizes.get(id(item))
        if known is not None and known[0] is item:
            return known[1]
        size = item_size(item)
        sizes[id(item)] = (item, size)
        return size

    index_units = dynamodb._index_write_units
    vector_bytes = dynamodb._vector_write_bytes

    def units_if_asked(*args: Any) -> float:
        return 0.0 if _unasked.get() else index_units(*args)

    def vector_bytes_if_asked(*args: Any) -> dict[str, Any]:
        return {} if _unasked.get() else vector_bytes(*args)

    evaluate = dynamodb._evaluate_condition

    def evaluate_once(
        expression: Any, item: Any, values: Any, names: Any, *args: Any, **kwargs: Any
    ) -> Any:
        conditions = _conditions.get()
        if conditions is None or args or kwargs or type(item) is not dict or item:
            return evaluate(expression, item, values, names, *args, **kwargs)
        key = _condition_key(expression, values, names)
        if key is None:
            return evaluate(expression, item, values, names)
        if key not in conditions:
            conditions[key] = evaluate(expression, item, values, names)
        return conditions[key]

    dynamodb._transact_write_items = within_request(dynamodb._transact_write_items, True)
    dynamodb._batch_write_item = within_request(dynamodb._batch_write_item, False)
    dynamodb._item_size_bytes = remembered_size
    dynamodb._index_write_units = units_if_asked
    dynamodb._vector_write_bytes = vector_bytes_if_asked
    dynamodb._evaluate_condition = evaluate_once
