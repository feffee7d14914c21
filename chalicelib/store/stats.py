"""Report counters: added to once per event, read per scope and day range.

Each (scope, day) is split over SHARDS items, chosen by the contact, so that writers counting
the same campaign at the same moment rarely meet on one item (a TransactionConflict); a read
sums the shards. The marker of the event that added a count sits in the same transaction, so
a retried event adds nothing twice. The `all` scope's day items also collect, in the set
attribute `scopes`, every other scope counted that day: the campaigns, channels, journeys and
owners a report lists are found there, without a scan.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.operand import Path

from chalicelib.errors import Busy
from chalicelib.reports.tally import ALL, Count
from chalicelib.store import optimistic, tables
from chalicelib.store.models import StatModel

SHARDS = 4
# As long as the ledger keeps effects: an event replayed late (a parked one, an old stream)
# still finds its marker.
MARKER_KEPT = timedelta(days=400)
TOTAL = "total"
SCOPES = "scopes"  # the set attribute of the `all` items
MARKER = "counted"  # the bucket of an event's marker
Metrics = dict[str, Decimal]


class _Exact(NumberAttribute):
    """A number written as its exact decimal text (PynamoDB would go through a float)."""

    def serialize(self, value: Any) -> str:
        return str(value)


def _add(metric: str, amount: Decimal) -> Any:
    return Path(_Exact(attr_name=metric)).add(amount)


def shard_of(contact_id: str) -> int:
    return zlib.crc32(contact_id.encode("utf-8", "surrogatepass")) % SHARDS


def marker_key(event_id: str) -> str:
    return f"tally#{event_id}"


def writes(counts: Iterable[Count], day: date, shard: int, note: bool = True) -> list[tables.Write]:
    """The updates that add `counts`: one item per scope and bucket, all its metrics at once,
    and (with `note`) the `all` item's note of every scope counted. A journey's step counts
    go without the note: its report lists the journey's own steps, and the `all` item would
    be one more item every advance's transaction meets."""
    grouped: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    seen: set[str] = set()
    for c in counts:
        bucket = f"{TOTAL if c.gauge else day.isoformat()}#{shard}"
        metrics = grouped[(c.scope, bucket)]
        metrics[c.metric] = metrics.get(c.metric, Decimal(0)) + Decimal(c.amount)
        if c.scope != ALL and note:
            seen.add(c.scope)
    if seen:
        grouped.setdefault((ALL, f"{day.isoformat()}#{shard}"), {})
    out: list[tables.Write] = []
    for (scope, bucket), metrics in grouped.items():
        actions: list[Any] = [_add(m, v) for m, v in metrics.items() if v]
        if scope == ALL and seen and not bucket.startswith(TOTAL):
            actions.append(Path(SCOPES).add(seen))
        if actions:
            out.append(("update", StatModel(scope, bucket), {"actions": actions}))
    return out


class StatStore:
    def add_once(
        self, event_id: str, counts: Sequence[Count], day: date, shard: int, now: datetime
    ) -> bool:
        """Add the counts of one event, unless they were added before; False then."""
        items = writes(counts, day, shard)
        if not items:
            return False
        marker = StatModel(marker_key(event_id), MARKER, expires_at=now + MARKER_KEPT)
        first = ("save", marker, {"condition": StatModel.scope.does_not_exist()})
        for n in range(optimistic.ATTEMPTS):
            if n:
                optimistic.pause(n - 1)
            try:
                tables.transact([first, *items])
            except TransactWriteError as exc:
                if tables.failed_conditions(exc) == [0]:
                    return False
                if tables.conflicted(exc.cancellation_reasons or []):
                    continue
                raise
            return True
        raise Busy(f"the report counters of {event_id} kept meeting other writers")

    def range(self, scope: str, first: date, last: date) -> Metrics:
        """A scope's metrics summed over the days from `first` to `last`, both included."""
        total: Metrics = defaultdict(Decimal)
        for _, metrics in self._days(scope, first, last):
            for name, value in metrics.items():
                total[name] += value
        return dict(total)

    def by_day(self, scope: str, first: date, last: date) -> dict[date, Metrics]:
        """A scope's metrics per day (the shards summed), for trends."""
        out: dict[date, Metrics] = defaultdict(lambda: defaultdict(Decimal))
        for day, metrics in self._days(scope, first, last):
            for name, value in metrics.items():
                out[day][name] += value
        return {d: dict(m) for d, m in out.items()}

    def levels(self, scope: str) -> Metrics:
        """A scope's all-time levels (gauges)."""
        total: Metrics = defaultdict(Decimal)
        for item in self._query(scope, "begins_with(#b, :lo)", {":lo": {"S": f"{TOTAL}#"}}):
            for name, value in _metrics(item).items():
                total[name] += value
        return dict(total)

    def scopes(self, first: date, last: date) -> set[str]:
        """Every scope counted on a day in the range."""
        found: set[str] = set()
        for item in self._query(ALL, "#b BETWEEN :lo AND :hi", _between(first, last)):
            found.update(item.get(SCOPES, {}).get("SS", []))
        return found

    def _days(self, scope: str, first: date, last: date) -> Iterator[tuple[date, Metrics]]:
        for item in self._query(scope, "#b BETWEEN :lo AND :hi", _between(first, last)):
            yield date.fromisoformat(item["bucket"]["S"].split("#")[0]), _metrics(item)

    def _query(self, scope: str, condition: str, values: dict[str, Any]) -> Iterator[dict]:
        """Raw items: PynamoDB would drop the attributes a model does not declare."""
        if not tables.can_be_key(scope):
            return
        client = tables.connection().client
        request = {
            "TableName": StatModel.Meta.table_name,
            "KeyConditionExpression": f"#s = :s AND {condition}",
            "ExpressionAttributeNames": {"#s": "scope", "#b": "bucket"},
            "ExpressionAttributeValues": {":s": {"S": scope}, **values},
        }
        while True:
            page = client.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _between(first: date, last: date) -> dict[str, Any]:
    return {":lo": {"S": first.isoformat()}, ":hi": {"S": f"{last.isoformat()}#~"}}


def _metrics(item: dict[str, Any]) -> Metrics:
    return {k: Decimal(v["N"]) for k, v in item.items() if "N" in v}
