"""The range a Query reads, for ministack's tables on disk (emulator_disk.py).

ministack gathers a whole partition (of a table, or of an index), sorts it and checks the key
condition on every item, so its cost grows with the partition; DynamoDB's grows with the range
it reads. Our `due` indexes hold the enrollments due next week in the same partitions the tick
reads for what is due now, and a segment's members or a broadcast's wave (100,000 items under
one partition key) are read a page at a time with `contact_id > :after`. While a Query with a
simple key condition runs, its sort-key range and the page it reads (Limit, direction, start
key) are set here, and the database reads only the items the key condition can match (by the
sort value's index). ministack then sorts and checks that short list as before, so its answers
are unchanged: the items left out could not have matched.

Loaded by emulator_main.py, inside ministack's process; it imports nothing of Leadflow's.
"""

from __future__ import annotations

import contextvars
import re
from typing import Any

# While a Query runs: (low, low inclusive, high, high inclusive); None bounds are open.
Bounds = tuple[Any, bool, Any, bool]
_bounds: contextvars.ContextVar[Bounds | None] = contextvars.ContextVar("bounds", default=None)
# And the page it reads: (Limit, forward, the ExclusiveStartKey's sort value or None).
Window = tuple[int, bool, Any]
_window: contextvars.ContextVar[Window | None] = contextvars.ContextVar("window", default=None)
OPEN: Bounds = (None, True, None, True)

_NAME = r"(#[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*)"
_COMPARE = re.compile(_NAME + r"\s*(<=|>=|<|>|=)\s*(:[A-Za-z0-9_]+)")
_MENTIONED = re.compile(r"(?<![:\w#])(#\w+|[A-Za-z_]\w*)")
_BETWEEN = re.compile(
    _NAME + r"\s+BETWEEN\s+(:[A-Za-z0-9_]+)\s+AND\s+(:[A-Za-z0-9_]+)", re.IGNORECASE
)


def current_bounds() -> tuple[Bounds, Window | None] | None:
    """The running Query's sort-key range and page; None when it reads whole partitions."""
    bounds = _bounds.get()
    return None if bounds is None else (bounds, _window.get())


def _range_name(table: dict[str, Any], index_name: str, dynamodb: Any) -> str | None:
    index = dynamodb._index_def(table, index_name)
    if index is None:
        return None
    hashes, ranges = dynamodb._index_key_lists(index)
    return ranges[0] if len(hashes) == 1 and len(ranges) == 1 else None


def _query_bounds(
    data: dict[str, Any], range_name: str, sk_type: str, dynamodb: Any
) -> Bounds | None:
    """The sort-key range a simple key condition asks for; None when it is not simple."""
    expression = data.get("KeyConditionExpression") or ""
    names = data.get("ExpressionAttributeNames") or {}
    values = data.get("ExpressionAttributeValues") or {}
    if " OR " in expression.upper() or "begins_with" in expression.lower():
        return None
    expression = expression.replace("(", " ").replace(")", " ")  # PynamoDB brackets each part

    def is_key(name: str) -> bool:
        return names.get(name, name) == range_name

    def value(ref: str) -> Any:
        attr = values.get(ref)
        if not isinstance(attr, dict) or list(attr) != [sk_type]:
            raise LookupError(ref)
        return dynamodb._sort_key_value(attr, sk_type)

    try:
        for name, low, high in _BETWEEN.findall(expression):
            if is_key(name):
                return (value(low), True, value(high), True)
        for name, op, ref in _COMPARE.findall(expression):
            if not is_key(name):
                continue
            bound = value(ref)
            return {
                "=": (bound, True, bound, True),
                "<": (None, True, bound, False),
                "<=": (None, True, bound, True),
                ">": (bound, False, None, True),
                ">=": (bound, True, None, True),
            }[op]
    except LookupError:
        return None
    if any(is_key(name) for name in _MENTIONED.findall(expression)):
        return None  # a condition on the sort key written otherwise (`:low < n`): read whole
    return OPEN  # no condition on the sort key: every item of the partition matches


def _query_window(
    data: dict[str, Any], range_name: str, sk_type: str, dynamodb: Any
) -> Window | None:
    """The page a Query with a Limit reads; None without a Limit (or with a start key that
    does not carry the sort key)."""
    limit = data.get("Limit")
    if not isinstance(limit, int) or limit < 1 or data.get("KeyConditions"):
        return None  # (the legacy KeyConditions are not read for bounds: no window either)
    after = None
    start_key = data.get("ExclusiveStartKey")
    if start_key:
        if range_name not in start_key:
            return None
        after = dynamodb._sort_key_value(start_key[range_name], sk_type)
    return (limit, data.get("ScanIndexForward", True) is not False, after)


def install() -> None:
    """Have ministack's Query set the range and page it reads while it runs."""
    from ministack.services import dynamodb

    query = dynamodb._query

    def bounded_query(data: dict[str, Any]) -> Any:
        bounds = window = None
        index_name = data.get("IndexName")
        table = dynamodb._tables.get(data.get("TableName"))
        if table is not None:
            if index_name:
                range_name = _range_name(table, index_name, dynamodb)
            else:
                range_name = table.get("sk_name")
            if range_name:
                sk_type = dynamodb._get_attr_type(table, range_name)
                if sk_type in ("S", "N"):
                    bounds = _query_bounds(data, range_name, sk_type, dynamodb)
                    window = _query_window(data, range_name, sk_type, dynamodb)
        token = _bounds.set(bounds)
        paging = _window.set(window if bounds is not None else None)
        try:
            return query(data)
        finally:
            _window.reset(paging)
            _bounds.reset(token)

    dynamodb._query = bounded_query
