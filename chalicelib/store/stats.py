"""Report counters: added to once per event, read per scope and day range.

Each (scope, day) is split over SHARDS items, chosen by the contact, so that writers counting
the same campaign at the same moment rarely meet on one item (a TransactionConflict); a read
sums the shards. Once a day is over, the daily roll-up merges its shards into one item
(`{day}#r`), so a long range reads one item a day per scope and the numbers in it once.
The marker of the event that added a count sits in the same transaction, so a retried event
adds nothing twice. The `all` scope's day items also collect, in the set
attribute `scopes`, every other scope counted that day: the campaigns, channels, journeys and
owners a report lists are found there, without a scan.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.operand import Path

from chalicelib.errors import Busy
from chalicelib.reports.tally import ALL, Count
from chalicelib.store import optimistic, tables
from chalicelib.store.models import CounterModel, StatModel
from chalicelib.store.outage import is_outage

SHARDS = 4
# As long as the ledger keeps effects: an event replayed late (a parked one, an old stream)
# still finds its marker.
MARKER_KEPT = timedelta(days=400)
TOTAL = "total"
SCOPES = "scopes"  # the set attribute of the `all` items
MARKER = "counted"  # the bucket of an event's marker
ROLLUP_KEY = "stats-rollup"  # the counters table's item that says when the roll-up last ran
ROLLED = "r"  # a closed day's shards merged into one item: "2026-11-03#r"
CHANGES = "n"  # every update adds one: the roll-up removes only items nobody changed since
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


@dataclass(frozen=True)
class Tally:
    """One event's counts, to be added once (its id is the marker)."""

    event_id: str
    counts: tuple[Count, ...]
    day: date
    shard: int


def writes(counts: Iterable[Count], day: date, shard: int, note: bool = True) -> list[tables.Write]:
    """The updates that add `counts`: one item per scope and bucket, all its metrics at once,
    and (with `note`) the `all` item's note of every scope counted. A journey's counts go
    without the note (`note()` notes its scope once a day instead): the `all` item would be
    one more item every advance's transaction meets."""
    return _writes([(counts, day, shard)], note)


Entries = Iterable[tuple[Iterable[Count], date, int]]


def _writes(entries: Entries, note: bool = True) -> list[tables.Write]:
    """The updates that add every entry's counts, each item's once: counts that meet on an
    item (the same scope, day and shard) are summed."""
    out: list[tables.Write] = []
    for (scope, bucket), (metrics, scopes) in _additions(entries, note).items():
        actions: list[Any] = [_add(m, v) for m, v in metrics.items()]
        if scopes:
            actions.append(Path(SCOPES).add(scopes))
        actions.append(_add(CHANGES, Decimal(1)))
        out.append(("update", StatModel(scope, bucket), {"actions": actions}))
    return out


def _additions(
    entries: Entries, note: bool = True
) -> dict[tuple[str, str], tuple[dict[str, Decimal], set[str]]]:
    """Per item (scope, bucket) the metrics the entries add to it, summed, and (on an `all`
    item) the scopes noted there; items with nothing to add left out."""
    grouped: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    seen: dict[str, set[str]] = defaultdict(set)  # the `all` bucket -> scopes noted there
    for counts, day, shard in entries:
        for c in counts:
            bucket = f"{TOTAL if c.gauge else day.isoformat()}#{shard}"
            metrics = grouped[(c.scope, bucket)]
            metrics[c.metric] = metrics.get(c.metric, Decimal(0)) + Decimal(c.amount)
            if c.scope != ALL and note:
                seen[f"{day.isoformat()}#{shard}"].add(c.scope)
    for bucket in seen:
        grouped.setdefault((ALL, bucket), {})
    changes = {}
    for (scope, bucket), metrics in grouped.items():
        added = {m: v for m, v in metrics.items() if v}
        scopes = seen.get(bucket, set()) if scope == ALL else set()
        if added or scopes:
            changes[(scope, bucket)] = (added, scopes)
    return changes


def note(scope: str, day: date, shard: int) -> None:
    """Note a scope in the day's `all` item, where the roll-up finds what to merge: for counts
    written without the note (a journey's, in its enrollment's transaction)."""
    actions = [Path(SCOPES).add({scope}), _add(CHANGES, Decimal(1))]
    StatModel(ALL, f"{day.isoformat()}#{shard}").update(actions=actions)


class StatStore:
    def add_once(
        self, event_id: str, counts: Sequence[Count], day: date, shard: int, now: datetime
    ) -> bool:
        """Add the counts of one event, unless they were added before; False then."""
        return self.add_all([Tally(event_id, tuple(counts), day, shard)], now) == 1

    def add_all(self, tallies: Sequence[Tally], now: datetime) -> int:
        """Add the counts of many events, each unless it was added before, in transactions of
        their markers and the counters they reach (counts meeting on one counter summed), one
        transaction per shard: a batch's events cost a few transactions, not one each, and
        concurrent batches still meet only on one shard's items. Returns how many were
        added."""
        chunks: dict[int, list[list[Tally]]] = defaultdict(lambda: [[]])
        room: dict[int, int] = defaultdict(lambda: tables.TRANSACTION_ITEMS)
        for t in tallies:  # a transaction per shard: writers still meet on one shard's items
            items = 1 + len(_additions([(t.counts, t.day, t.shard)]))  # its marker and counters,
            if items == 1:  # at most: counts meeting on one counter take fewer
                continue
            if items > room[t.shard] and chunks[t.shard][-1]:
                chunks[t.shard].append([])
                room[t.shard] = tables.TRANSACTION_ITEMS
            chunks[t.shard][-1].append(t)
            room[t.shard] -= items
        return sum(self._add_chunk(chunk, now) for shard in chunks.values() for chunk in shard)

    def _add_chunk(self, chunk: list[Tally], now: datetime) -> int:
        for n in range(optimistic.ATTEMPTS):
            if n:
                optimistic.pause(n - 1)
            markers: list[tables.Write] = [
                (
                    "save",
                    StatModel(marker_key(t.event_id), MARKER, expires_at=now + MARKER_KEPT),
                    {"condition": StatModel.scope.does_not_exist()},
                )
                for t in chunk
            ]
            counters = _writes((t.counts, t.day, t.shard) for t in chunk)
            try:
                tables.transact([*markers, *counters])
            except TransactWriteError as exc:
                counted = {i for i in tables.failed_conditions(exc) if i < len(chunk)}
                if counted:  # added before (a replayed event): the others, without them
                    chunk = [t for i, t in enumerate(chunk) if i not in counted]
                    if not chunk:
                        return 0
                    continue
                if tables.conflicted(exc.cancellation_reasons or []):
                    continue
                if len(chunk) > 1 and not is_outage(exc):  # one refused: the others go on
                    return sum(self._add_chunk([t], now) for t in chunk)
                raise
            return len(chunk)
        raise Busy(f"the report counters of {len(chunk)} events kept meeting other writers")

    def roll_day(self, scope: str, day: date) -> bool:
        """Merge a closed day's shards of one scope into its rolled item; False when there
        was nothing to merge. A count added meanwhile makes the merge start again."""
        client = _client()
        prefix = {":p": {"S": f"{day.isoformat()}#"}}
        for n in range(optimistic.ATTEMPTS):
            if n:
                optimistic.pause(n - 1)
            items = list(self._query(scope, "begins_with(#b, :p)", prefix, consistent=True))
            writes = _rolled(scope, day, items)
            if writes is None:
                return False
            try:
                client.transact_write_items(TransactItems=writes)
            except client.exceptions.TransactionCanceledException:
                continue  # a shard changed under us, or another roll-up won: read again
            return True
        raise Busy(f"the counters of {scope} on {day} kept changing during the roll-up")

    def rolled_up_on(self) -> date | None:
        """The day the daily roll-up last ran."""
        try:
            cursor = CounterModel.get(ROLLUP_KEY, consistent_read=True).cursor
        except CounterModel.DoesNotExist:
            return None
        return date.fromisoformat(cursor) if cursor else None

    def rolled_up(self, day: date, now: datetime) -> None:
        CounterModel(ROLLUP_KEY, cursor=day.isoformat(), at=now).save()

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

    def _query(
        self, scope: str, condition: str, values: dict[str, Any], consistent: bool = False
    ) -> Iterator[dict]:
        """Raw items: PynamoDB would drop the attributes a model does not declare."""
        if not tables.can_be_key(scope):
            return
        client = tables.connection().client
        request = {
            "TableName": StatModel.Meta.table_name,
            "KeyConditionExpression": f"#s = :s AND {condition}",
            "ExpressionAttributeNames": {"#s": "scope", "#b": "bucket"},
            "ExpressionAttributeValues": {":s": {"S": scope}, **values},
            "ConsistentRead": consistent,
        }
        while True:
            page = client.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _client() -> Any:
    return tables.connection().client


def _rolled(scope: str, day: date, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The transaction that merges a day's shards (and its rolled item, if any) into one
    rolled item and deletes the shards, each write conditioned on the item being as read."""
    bucket = f"{day.isoformat()}#{ROLLED}"
    shards = [i for i in items if i["bucket"]["S"] != bucket]
    if not shards:
        return None
    before = next((i for i in items if i["bucket"]["S"] == bucket), None)
    merged: dict[str, Decimal] = defaultdict(Decimal)
    seen: set[str] = set()
    for item in items:
        for name, value in _metrics(item).items():
            merged[name] += value
        seen.update(item.get(SCOPES, {}).get("SS", []))
    table = StatModel.Meta.table_name
    put: dict[str, Any] = {
        "scope": {"S": scope},
        "bucket": {"S": bucket},
        CHANGES: {"N": str(_changes(before) + 1 if before else 1)},
        **{name: {"N": str(v)} for name, v in merged.items() if v},
    }
    if seen:
        put[SCOPES] = {"SS": sorted(seen)}
    writes = [{"Put": {"TableName": table, "Item": put, **_unchanged(before)}}]
    for shard in shards:
        key = {"scope": shard["scope"], "bucket": shard["bucket"]}
        writes.append({"Delete": {"TableName": table, "Key": key, **_unchanged(shard)}})
    return writes


def _changes(item: dict[str, Any]) -> int:
    return int(item[CHANGES]["N"]) if CHANGES in item else 0


def _unchanged(item: dict[str, Any] | None) -> dict[str, Any]:
    """The condition that `item` is as it was read (absent, when it was absent)."""
    names = {"#n": CHANGES}
    if item is None:
        return {
            "ConditionExpression": "attribute_not_exists(#n)",
            "ExpressionAttributeNames": names,
        }
    if CHANGES not in item:
        return {
            "ConditionExpression": "attribute_not_exists(#n)",
            "ExpressionAttributeNames": names,
        }
    return {
        "ConditionExpression": "#n = :n",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {":n": item[CHANGES]},
    }


def _between(first: date, last: date) -> dict[str, Any]:
    return {":lo": {"S": first.isoformat()}, ":hi": {"S": f"{last.isoformat()}#~"}}


def _metrics(item: dict[str, Any]) -> Metrics:
    return {k: Decimal(v["N"]) for k, v in item.items() if "N" in v and k != CHANGES}
