"""Range reads on index and table partitions for ministack, as DynamoDB does them.

ministack keeps each index partition as a set of base keys, and a Query gathers the whole
partition, sorts it and checks the key condition on every item, so its cost grows with the
partition; DynamoDB's grows with the range it reads. Our `due` indexes hold the enrollments
due next week in the same partitions the tick reads for what is due now, so that difference
was the tick's cost. Here each partition also keeps its members sorted by the index's sort key,
and while a Query runs, iterating a partition yields only the members its key condition can
match (found by bisection). ministack then sorts and checks that short list as before, so its
answers are unchanged: the items left out could not have matched.

A table's own partitions are read the same way: a segment's members or a broadcast's wave
(100,000 items under one partition key) are read a page at a time with `contact_id > :after`,
which cost the whole partition per page (so the whole read was quadratic). Each partition of a
table with a sort key becomes a `Bucket` that keeps its sort keys sorted as items come and go.

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
# And the page it reads: (Limit, forward, the ExclusiveStartKey's sort value or None).
Window = tuple[int, bool, Any]
_window: contextvars.ContextVar[Window | None] = contextvars.ContextVar("window", default=None)
OPEN: Bounds = (None, True, None, True)

_NAME = r"(#[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*)"
_COMPARE = re.compile(_NAME + r"\s*(<=|>=|<|>|=)\s*(:[A-Za-z0-9_]+)")
_BETWEEN = re.compile(
    _NAME + r"\s+BETWEEN\s+(:[A-Za-z0-9_]+)\s+AND\s+(:[A-Za-z0-9_]+)", re.IGNORECASE
)


def _first(entry: tuple[Any, Any]) -> Any:
    return entry[0]


class _Sorted(dict):  # type: ignore[type-arg]
    """A ministack dict that also keeps its keys sorted by a sort value, for range reads."""

    def __init__(self) -> None:
        super().__init__()
        self._sorted: list[tuple[Any, Any]] = []  # (sort value, key), by sort value
        self._values: dict[Any, Any] = {}
        self._mixed = False  # values of two types (a write ministack let through): read whole

    def _remember(self, key: Any, value: Any) -> None:
        if self._mixed or key in self._values:
            return
        try:
            bisect.insort(self._sorted, (value, key), key=_first)
        except TypeError:
            self._mixed = True
            return
        self._values[key] = value

    def pop(self, key: Any, default: Any = None) -> Any:
        if key in self._values:
            value = self._values.pop(key)
            start = bisect.bisect_left(self._sorted, value, key=_first)
            for i in range(start, len(self._sorted)):
                if self._sorted[i][1] == key:
                    del self._sorted[i]
                    break
        return super().pop(key, default)

    def _keys_in_range(self) -> list[Any] | None:
        """The keys the running Query's range can match; None when it reads everything."""
        bounds = _bounds.get()
        if bounds is None or self._mixed:
            return None
        return _between(self._sorted, bounds)


class Partition(_Sorted):
    """One index partition: ministack's {(base_pk, base_sk): None}, sorted by sort value."""

    def add(self, key: Any, value: Any) -> None:
        self.pop(key, None)
        self[key] = None
        self._remember(key, value)

    def __iter__(self) -> Iterator[Any]:
        keys = self._keys_in_range()
        return iter(list(super().__iter__()) if keys is None else keys)


class Bucket(_Sorted):
    """One table partition: ministack's {sort key: item}, also sorted by sort value.

    Items are added and removed only through ministack's `_set_item` and `_remove_item`
    (patched below); a copy (ministack snapshots tables for transactions) restores the sorted
    list with the instance before re-adding the items, so re-adding them changes nothing.
    """

    def __init__(self, items: dict[Any, Any], sort_value: Any) -> None:
        super().__init__()
        self._sort_value = sort_value
        for key, item in items.items():
            self[key] = item

    def __setitem__(self, key: Any, item: Any) -> None:
        super().__setitem__(key, item)
        if key not in self._values:
            self._remember(key, self._sort_value(item))

    def __delitem__(self, key: Any) -> None:
        self.pop(key)

    def values(self) -> Any:  # type: ignore[override]
        keys = self._keys_in_range()
        return super().values() if keys is None else [self[key] for key in keys]


def _between(ordered: list[tuple[Any, Any]], bounds: Bounds) -> list[Any] | None:
    """The keys whose sort value is within `bounds`, by bisection, and within the page the
    Query reads (its Limit, after its start key); None if incomparable."""
    low, low_in, high, high_in = bounds
    try:
        start = 0
        if low is not None:
            find = bisect.bisect_left if low_in else bisect.bisect_right
            start = find(ordered, low, key=_first)
        end = len(ordered)
        if high is not None:
            find = bisect.bisect_right if high_in else bisect.bisect_left
            end = find(ordered, high, key=_first)
        window = _window.get()
        if window is not None:
            start, end = _page(ordered, start, end, window)
    except TypeError:  # a bound of another type than the key: ministack will refuse it
        return None
    return [key for _, key in ordered[start:end]]


def _page(ordered: list[tuple[Any, Any]], start: int, end: int, window: Window) -> tuple[int, int]:
    """Narrow [start, end) to what one page can read: the Limit's items past the start key,
    one more (so ministack sees there is more), and every item tied with either edge (its
    order among equal sort values is its own)."""
    limit, forward, after = window
    ties = 0
    if after is not None:
        first = bisect.bisect_left(ordered, after, key=_first)
        last = bisect.bisect_right(ordered, after, key=_first)
        ties = last - first
        if forward:
            start = max(start, first)
        else:
            end = min(end, last)
    take = limit + 1 + ties
    if forward:
        cut = start + take
        while start < cut < end and ordered[cut][0] == ordered[cut - 1][0]:
            cut += 1
        return start, min(end, cut)
    cut = end - take
    while start < cut < end and ordered[cut][0] == ordered[cut - 1][0]:
        cut -= 1
    return max(start, cut), end


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

    set_item = dynamodb._set_item

    def sorted_set_item(table: dict[str, Any], pk_val: Any, sk_val: Any, item: Any) -> Any:
        bucket = table["items"].get(pk_val)
        if type(bucket) is not Bucket and table.get("sk_name"):
            name = table["sk_name"]
            kind = dynamodb._get_attr_type(table, name)

            def sort_value(stored: dict[str, Any]) -> Any:
                return dynamodb._sort_key_value(stored.get(name), kind)

            table["items"][pk_val] = Bucket(bucket or {}, sort_value)
        return set_item(table, pk_val, sk_val, item)

    dynamodb._index_members = index_members
    dynamodb._index_item = index_item
    dynamodb._query = bounded_query
    dynamodb._set_item = sorted_set_item
