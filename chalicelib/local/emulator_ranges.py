"""Range reads on index partitions for ministack, as DynamoDB does them.

ministack keeps each index partition as a set of base keys, and a Query gathers the whole
partition, sorts it and checks the key condition on every item, so its cost grows with the
partition; DynamoDB's grows with the range it reads. Our `due` indexes hold the enrollments
due next week in the same partitions the tick reads for what is due now, so that difference
was the tick's cost. Here each partition also keeps its members sorted by the index's sort key,
and while a Query runs, iterating a partition yields only the members its key condition can
match (found by bisection). ministack then sorts and checks that short list as before, so its
answers are unchanged: the items left out could not have matched.

Loaded by emulator_main.py, inside ministack's process; it imports nothing of Leadflow's.
"""

from __future__ import annotations

import bisect
import contextvars
import re
from collections.abc import Iterator
from typing import Any

# While a Query runs: (low, low inclusive, high, high inclusive); None bounds are open.
Bounds = tuple[Any, bool, Any, bool]
_bounds: contextvars.ContextVar[Bounds | None] = contextvars.ContextVar("bounds", default=None)

_NAME = r"(#[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*)"
_COMPARE = re.compile(_NAME + r"\s*(<=|>=|<|>|=)\s*(:[A-Za-z0-9_]+)")
_BETWEEN = re.compile(
    _NAME + r"\s+BETWEEN\s+(:[A-Za-z0-9_]+)\s+AND\s+(:[A-Za-z0-9_]+)", re.IGNORECASE
)


def _first(entry: tuple[Any, Any]) -> Any:
    return entry[0]


class Partition(dict):  # type: ignore[type-arg]
    """One index partition: ministack's {(base_pk, base_sk): None}, also sorted by sort value."""

    def __init__(self) -> None:
        super().__init__()
        self._sorted: list[tuple[Any, Any]] = []  # (sort value, base key), by sort value
        self._values: dict[Any, Any] = {}
        self._mixed = False

    def add(self, key: Any, value: Any) -> None:
        self.pop(key, None)
        self[key] = None
        if self._mixed:
            return
        try:
            bisect.insort(self._sorted, (value, key), key=_first)
        except TypeError:  # values of two types (a write ministack let through): read it whole
            self._mixed = True
            return
        self._values[key] = value

    def pop(self, key: Any, default: Any = None) -> Any:
        if key not in self._values:
            return super().pop(key, default)
        value = self._values.pop(key)
        start = bisect.bisect_left(self._sorted, value, key=_first)
        for i in range(start, len(self._sorted)):
            if self._sorted[i][1] == key:
                del self._sorted[i]
                break
        return super().pop(key, default)

    def __iter__(self) -> Iterator[Any]:
        bounds = _bounds.get()
        if bounds is None or self._mixed:
            return iter(list(super().__iter__()))
        low, low_in, high, high_in = bounds
        try:
            start = 0
            if low is not None:
                find = bisect.bisect_left if low_in else bisect.bisect_right
                start = find(self._sorted, low, key=_first)
            end = len(self._sorted)
            if high is not None:
                find = bisect.bisect_right if high_in else bisect.bisect_left
                end = find(self._sorted, high, key=_first)
        except TypeError:  # a bound of another type than the key: ministack will refuse it
            return iter(list(super().__iter__()))
        return iter([key for _, key in self._sorted[start:end]])


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
    return None


def install() -> None:
    """Swap ministack's index partitions for sorted ones and bound its index Queries."""
    from ministack.services import dynamodb

    def index_members(table: dict[str, Any]) -> dict[str, Any]:
        members = table.get(dynamodb._INDEX_MEMBERS)
        if members is None:
            members = {}
            for name, hashes, ranges in dynamodb._index_key_schemas(table):
                partitions = members.setdefault(name, {})
                for base_pk, sk_map in table["items"].items():
                    for base_sk, item in sk_map.items():
                        _place(table, partitions, hashes, ranges, base_pk, base_sk, item)
            table[dynamodb._INDEX_MEMBERS] = members
        return members

    def _place(
        table: dict[str, Any],
        partitions: dict[Any, Any],
        hashes: list[str],
        ranges: list[str],
        base_pk: Any,
        base_sk: Any,
        item: dict[str, Any],
    ) -> None:
        partition = dynamodb._index_partition(item, hashes, ranges)
        if partition is None:
            return
        if len(hashes) != 1 or len(ranges) != 1:  # no single sort key: ministack's own dict
            partitions.setdefault(partition, {})[(base_pk, base_sk)] = None
            return
        value = dynamodb._sort_key_value(
            item.get(ranges[0]), dynamodb._get_attr_type(table, ranges[0])
        )
        partitions.setdefault(partition, Partition()).add((base_pk, base_sk), value)

    def index_item(table: dict[str, Any], base_pk: Any, base_sk: Any, item: Any, add: bool) -> None:
        members = table.get(dynamodb._INDEX_MEMBERS)
        if members is None:
            return
        for name, hashes, ranges in dynamodb._index_key_schemas(table):
            if name not in members:
                table.pop(dynamodb._INDEX_MEMBERS, None)
                return
            partitions = members[name]
            if add:
                _place(table, partitions, hashes, ranges, base_pk, base_sk, item)
                continue
            partition = dynamodb._index_partition(item, hashes, ranges)
            if partition in partitions:
                partitions[partition].pop((base_pk, base_sk), None)
                if not partitions[partition]:
                    del partitions[partition]

    query = dynamodb._query

    def bounded_query(data: dict[str, Any]) -> Any:
        bounds = None
        index_name = data.get("IndexName")
        table = dynamodb._tables.get(data.get("TableName")) if index_name else None
        if table is not None:
            range_name = _range_name(table, index_name, dynamodb)
            if range_name:
                sk_type = dynamodb._get_attr_type(table, range_name)
                if sk_type in ("S", "N"):
                    bounds = _query_bounds(data, range_name, sk_type, dynamodb)
        token = _bounds.set(bounds)
        try:
            return query(data)
        finally:
            _bounds.reset(token)

    dynamodb._index_members = index_members
    dynamodb._index_item = index_item
    dynamodb._query = bounded_query
