"""DynamoDB's items on disk for ministack: one SQLite database instead of Python dicts.

ministack keeps every item as nested Python dicts, about ten times its JSON size: a local stack
grew by 140 MB for every thousand leads (a 20,000-row import peaked at 394 MB, 214 MB now). Here
each table's `items` is a view of a SQLite database (`Disk`), as DynamoDB Local keeps its
tables: the items as JSON, with their partition key, sort key and sort value, and one row per
index entry (its partition, its sort value, the item's key). Memory then holds SQLite's page
cache and the last few thousand items read or written, whatever the data.

Every write goes through ministack's `_set_item` and `_remove_item`, replaced here; nothing in
ministack changes a stored item in place (each write builds a new item or changes a copy), so
an item read back from the database is the one written. The views answer what ministack asks
of its dicts: a point read, a partition's items (only those in the range a Query reads, see
emulator_ranges.py: by the sort key itself where it is text, the key's own order, else by the
partition's sort values), an index partition's members (by their sort value, which leads their
key), a table's keys in order for a Scan (only one page's worth when the Scan has a Limit).

Numbers sort as floats in the database, which never orders two numbers the wrong way round
but may tie two that differ: a range read therefore compares inclusively and keeps ties, and
hands ministack a superset of the items it can match, which ministack sorts and checks exactly
as before.

The database is the working copy of the state, not its record: the snapshot and the journal
stay that (emulator_main.StateFolder). A snapshot copies the database (SQLite's backup, between
two requests) beside the rest of the state, and a start loads that copy and replays the
journal after it. A deep copy of a table's items (as ministack's `get_state` makes) is a
reference to the table's rows, `{"\\u0000disk": id}`, which the loader turns back into a view.

Loaded by emulator_main.py, inside ministack's process; it imports nothing of Leadflow's.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import copy
import marshal
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import emulator_ranges
import orjson

REFERENCE = "\x00disk"
"""The key of a table's items in a snapshot: the table's id in the database."""
ABSENT = object()
"""Kept for a key known to hold no item: a new item's key is looked up three times or more
(its condition, the write, the old item's index entries) before it is written."""
CACHED_ITEMS = 4096
"""Items kept decoded, the last read from the database or written (first in, first out): a
lead's items are read again and again within seconds, and reading one from the database costs
a query and a parse."""
PAGE_CACHE_KIB = 16_384
WRITES_PER_COMMIT = 2_000
"""Writes go in one open transaction, committed after this many (and before a copy): a
statement outside one pays for a transaction of its own, half its cost. Nothing is lost by
committing late: the journal, not this file, is the record."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tables (id INTEGER PRIMARY KEY AUTOINCREMENT, arn TEXT);
CREATE TABLE IF NOT EXISTS items (
    t INTEGER NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL, sv, expires REAL, body BLOB NOT NULL,
    PRIMARY KEY (t, pk, sk)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_expiring ON items (t, expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS members (
    t INTEGER NOT NULL, ix TEXT NOT NULL, part TEXT NOT NULL, sv NOT NULL, pk TEXT NOT NULL,
    sk TEXT NOT NULL, PRIMARY KEY (t, ix, part, sv, pk, sk)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS populated (t INTEGER NOT NULL, ix TEXT NOT NULL, PRIMARY KEY (t, ix));
"""

# A Scan's page while it runs: (the table's id, its ExclusiveStartKey's (pk, sk) or None, Limit).
_scan_page: contextvars.ContextVar[tuple[int, tuple[str, str] | None, int] | None] = (
    contextvars.ContextVar("scan_page", default=None)
)
# The keys of that page, once read: pk -> its sort keys, in order.
_scan_keys: contextvars.ContextVar[dict[str, list[str]] | None] = contextvars.ContextVar(
    "scan_keys", default=None
)


def _encode(item: Any) -> bytes:
    try:
        return orjson.dumps(item)
    except TypeError:  # bytes, or anything else JSON cannot hold: marshal, marked
        return b"\x00" + marshal.dumps(item)


def _decode(body: bytes) -> Any:
    if body[:1] == b"\x00":
        return marshal.loads(body[1:])
    return orjson.loads(body)


def _stored(value: Any) -> Any:
    """A sort value as the database orders it."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def _entry(value: Any) -> Any:
    """An index entry's sort value as stored: none (an index without a sort key) is ''."""
    return "" if value is None else _stored(value)


def _part(value: Any) -> str:
    """An index partition (a tuple for a multi-attribute key) as text."""
    if isinstance(value, tuple):
        return "\x00" + orjson.dumps(list(value)).decode()
    return value


class Disk:
    """The database of every table's items and index entries, and the items kept decoded."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=OFF",  # the journal and the snapshots are the record, not this file
            "synchronous=OFF",
            "locking_mode=EXCLUSIVE",
            "temp_store=MEMORY",
            f"cache_size=-{PAGE_CACHE_KIB}",
        ):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(_SCHEMA)
        self.cache: collections.OrderedDict[tuple[int, str, str], Any] = collections.OrderedDict()
        self.populated = set(self.db.execute("SELECT t, ix FROM populated"))
        self._writes = 0

    def _write(self, statement: str, args: Any) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN")
        self.db.execute(statement, args)
        self._writes += 1
        if self._writes >= WRITES_PER_COMMIT:
            self.commit()

    def _write_many(self, statement: str, rows: list[Any]) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN")
        self.db.executemany(statement, rows)
        self._writes += len(rows)
        if self._writes >= WRITES_PER_COMMIT:
            self.commit()

    def commit(self) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")
        self._writes = 0

    # Items
    def get(self, t: int, pk: str, sk: str) -> Any:
        key = (t, pk, sk)
        item = self.cache.get(key)
        if item is not None:
            return None if item is ABSENT else item
        row = self.db.execute(
            "SELECT body FROM items WHERE t = ? AND pk = ? AND sk = ?", key
        ).fetchone()
        item = ABSENT if row is None else _decode(row[0])
        self._remember(key, item)
        return None if item is ABSENT else item

    def _remember(self, key: tuple[int, str, str], item: Any) -> None:
        self.cache[key] = item
        self.cache.move_to_end(key)
        if len(self.cache) > CACHED_ITEMS:
            self.cache.popitem(last=False)

    def _decoded(self, t: int, pk: str, sk: str, body: bytes) -> Any:
        key = (t, pk, sk)
        item = self.cache.get(key)
        if item is None or item is ABSENT:
            item = _decode(body)
            self._remember(key, item)
        return item

    def put(
        self,
        t: int,
        pk: str,
        sk: str,
        sort_value: Any,
        expires: float | None,
        item: Any,
        gone: list[tuple[str, str, Any]],
        entries: list[tuple[str, str, Any]],
    ) -> None:
        """Store `item`; `gone` are the (index, partition, sort value) entries of the item it
        replaces, `entries` this one's."""
        self._write(
            "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?)",
            (t, pk, sk, _stored(sort_value), expires, _encode(item)),
        )
        self._unindex(t, pk, sk, gone)
        if entries:
            self._write_many(
                "INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?, ?, ?)",
                [(t, ix, part, _entry(sv), pk, sk) for ix, part, sv in entries],
            )
        self._remember((t, pk, sk), item)

    def delete(self, t: int, pk: str, sk: str, gone: list[tuple[str, str, Any]]) -> None:
        self._write("DELETE FROM items WHERE t = ? AND pk = ? AND sk = ?", (t, pk, sk))
        self._unindex(t, pk, sk, gone)
        self._remember((t, pk, sk), ABSENT)

    def _unindex(self, t: int, pk: str, sk: str, gone: list[tuple[str, str, Any]]) -> None:
        if gone:
            self._write_many(
                "DELETE FROM members"
                " WHERE t = ? AND ix = ? AND part = ? AND sv = ? AND pk = ? AND sk = ?",
                [(t, ix, part, _entry(sv), pk, sk) for ix, part, sv in gone],
            )

    # Reads of many
    def sort_keys(self, t: int, pk: str) -> list[str]:
        rows = self.db.execute("SELECT sk FROM items WHERE t = ? AND pk = ? ORDER BY sk", (t, pk))
        return [sk for (sk,) in rows]

    def partition(self, t: int, pk: str, by_key: bool) -> Iterator[tuple[str, Any]]:
        """(sort key, item) of a partition: only those the running Query can read. A text sort
        key is its own sort value, in the table's key order; a number's is read by value from
        the partition."""
        column = "sk" if by_key else "sv"
        where, args, order = _range(emulator_ranges.current_bounds(), column)
        rows = self.db.execute(
            f"SELECT sk, {column}, body FROM items WHERE t = ? AND pk = ?{where}"
            f" ORDER BY {column}{order}",
            (t, pk, *args),
        )
        for sk, _, body in _window(rows):
            yield sk, self._decoded(t, pk, sk, body)

    def members(self, t: int, ix: str, part: str) -> list[tuple[str, str]]:
        """The (pk, sk) of an index partition's items that the running Query can read; the
        items themselves are read with them, and kept decoded for ministack to take."""
        where, args, order = _range(emulator_ranges.current_bounds(), "m.sv")
        rows = self.db.execute(
            "SELECT m.pk, m.sk, m.sv, i.body FROM members m JOIN items i"
            " ON i.t = m.t AND i.pk = m.pk AND i.sk = m.sk"
            f" WHERE m.t = ? AND m.ix = ? AND m.part = ?{where} ORDER BY m.sv{order}",
            (t, ix, part, *args),
        )
        keys = []
        for pk, sk, body in ((pk, sk, body) for pk, sk, sv, body in _window(rows, 2)):
            self._decoded(t, pk, sk, body)
            keys.append((pk, sk))
        return keys

    def partition_keys(self, t: int) -> list[str]:
        rows = self.db.execute("SELECT DISTINCT pk FROM items WHERE t = ? ORDER BY pk", (t,))
        return [pk for (pk,) in rows]

    def scan_page(self, t: int, after: tuple[str, str] | None, limit: int) -> dict[str, list[str]]:
        """The keys of a Scan's page (and one more), in (pk, sk) order; their items kept."""
        if after is None:
            rows = self.db.execute(
                "SELECT pk, sk, body FROM items WHERE t = ? ORDER BY pk, sk LIMIT ?",
                (t, limit + 1),
            )
        else:
            rows = self.db.execute(
                "SELECT pk, sk, body FROM items WHERE t = ? AND (pk, sk) > (?, ?)"
                " ORDER BY pk, sk LIMIT ?",
                (t, *after, limit + 1),
            )
        keys: dict[str, list[str]] = {}
        for pk, sk, body in rows:
            self._decoded(t, pk, sk, body)
            keys.setdefault(pk, []).append(sk)
        return keys

    def count(self, t: int, pk: str | None = None) -> int:
        if pk is None:
            return self.db.execute("SELECT count(*) FROM items WHERE t = ?", (t,)).fetchone()[0]
        query = "SELECT count(*) FROM items WHERE t = ? AND pk = ?"
        return self.db.execute(query, (t, pk)).fetchone()[0]

    def has_partition(self, t: int, pk: str) -> bool:
        query = "SELECT 1 FROM items WHERE t = ? AND pk = ? LIMIT 1"
        return self.db.execute(query, (t, pk)).fetchone() is not None

    def all_items(self, t: int) -> Iterator[tuple[str, str, Any]]:
        for pk, sk, body in self.db.execute(
            "SELECT pk, sk, body FROM items WHERE t = ? ORDER BY pk, sk", (t,)
        ).fetchall():
            yield pk, sk, self._decoded(t, pk, sk, body)

    def expired(self, t: int, now: float) -> list[tuple[str, str]]:
        query = "SELECT pk, sk FROM items WHERE t = ? AND expires IS NOT NULL AND expires <= ?"
        return list(self.db.execute(query, (t, now)))

    # Tables and indexes
    def new_table(self, arn: str) -> int:
        t = self.db.execute("INSERT INTO tables (arn) VALUES (?)", (arn,)).lastrowid
        assert t is not None
        return t

    def has_table(self, t: int) -> bool:
        return self.db.execute("SELECT 1 FROM tables WHERE id = ?", (t,)).fetchone() is not None

    def drop(self, t: int) -> None:
        for table in ("items", "members", "populated"):
            self.db.execute(f"DELETE FROM {table} WHERE t = ?", (t,))
        self.db.execute("DELETE FROM tables WHERE id = ?", (t,))
        self.populated = {entry for entry in self.populated if entry[0] != t}
        self.cache = collections.OrderedDict((k, v) for k, v in self.cache.items() if k[0] != t)

    def clear(self) -> None:
        for table in ("items", "members", "populated", "tables"):
            self.db.execute(f"DELETE FROM {table}")
        self.populated.clear()
        self.cache.clear()

    def mark_populated(self, t: int, ix: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO populated VALUES (?, ?)", (t, ix))
        self.populated.add((t, ix))

    def forget_index(self, t: int, ix: str) -> None:
        self.db.execute("DELETE FROM members WHERE t = ? AND ix = ?", (t, ix))
        self.db.execute("DELETE FROM populated WHERE t = ? AND ix = ?", (t, ix))
        self.populated.discard((t, ix))

    def add_entries(self, t: int, rows: list[tuple[str, str, Any, str, str]]) -> None:
        self._write_many(
            "INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?, ?, ?)",
            [(t, ix, part, _entry(sv), pk, sk) for ix, part, sv, pk, sk in rows],
        )

    def set_expiry(self, t: int, rows: list[tuple[float | None, str, str]]) -> None:
        self._write_many(
            "UPDATE items SET expires = ? WHERE t = ? AND pk = ? AND sk = ?",
            [(expires, t, pk, sk) for expires, pk, sk in rows],
        )

    def backup(self, path: str) -> None:
        """A copy of the database as it is now (between two requests), at `path`."""
        self.commit()
        with contextlib.closing(sqlite3.connect(path)) as target:
            self.db.backup(target)


def _range(bounds: Any, column: str) -> tuple[str, list[Any], str]:
    """SQL for a Query's sort-key range, compared inclusively (see the module docstring), and
    its order: ascending, or descending for a backward page."""
    if bounds is None:
        return "", [], ""
    (low, _, high, _), window = bounds
    where, args = "", []
    if low is not None:
        where += f" AND {column} >= ?"
        args.append(_stored(low))
    if high is not None:
        where += f" AND {column} <= ?"
        args.append(_stored(high))
    if window is None:
        return where, args, ""
    _, forward, after = window
    if after is not None:
        where += f" AND {column} {'>=' if forward else '<='} ?"
        args.append(_stored(after))
    return where, args, "" if forward else " DESC"


def _window(rows: Any, sv_at: int = 1) -> Iterator[Any]:
    """The rows one page can read: every row tied with the start key's sort value or with a
    bound (as floats, numbers outside a bound can tie with it), the Limit's rows besides them
    and one more (so ministack sees there is more), and every row tied with the last; all rows
    when the Query has no window."""
    current = emulator_ranges.current_bounds()
    if current is None or current[1] is None:
        yield from rows
        return
    (low, _, high, _), (limit, _, after) = current
    uncounted = {_stored(v) for v in (after, low, high) if v is not None}
    taken, last = 0, None
    for row in rows:
        sv = row[sv_at]
        if sv in uncounted:
            yield row  # ministack decides: counted neither way
            continue
        if taken > limit and sv != last:
            return
        taken += 1
        last = sv
        yield row


class Partition:
    """One partition of a table, as ministack's {sort key: item}."""

    __slots__ = ("_by_key", "_disk", "_pk", "_t")

    def __init__(self, disk: Disk, t: int, pk: str, by_key: bool) -> None:
        self._disk, self._t, self._pk, self._by_key = disk, t, pk, by_key

    def get(self, sk: Any, default: Any = None) -> Any:
        found = self._disk.get(self._t, self._pk, sk) if isinstance(sk, str) else None
        return default if found is None else found

    def __getitem__(self, sk: Any) -> Any:
        found = self.get(sk)
        if found is None:
            raise KeyError(sk)
        return found

    def __contains__(self, sk: object) -> bool:
        return self.get(sk) is not None

    def keys(self) -> list[str]:
        page = _scan_keys.get()
        if page is not None:
            return list(page.get(self._pk, ()))
        return self._disk.sort_keys(self._t, self._pk)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def values(self) -> list[Any]:
        return [item for _, item in self._disk.partition(self._t, self._pk, self._by_key)]

    def items(self) -> list[tuple[str, Any]]:
        return list(self._disk.partition(self._t, self._pk, self._by_key))

    def __len__(self) -> int:
        return self._disk.count(self._t, self._pk)

    def __bool__(self) -> bool:
        return self._disk.has_partition(self._t, self._pk)

    def __deepcopy__(self, memo: Any) -> dict[str, Any]:
        """A plain copy (ministack copies a table's items this way before a PartiQL
        transaction, a backup or a restore; Leadflow makes none of those)."""
        return {sk: copy.deepcopy(item, memo) for sk, item in self.items()}


class Items:
    """A table's items, as ministack's {partition key: {sort key: item}}, in the database.

    Written only through `_set_item` and `_remove_item` (replaced in `install`)."""

    __slots__ = ("by_key", "disk", "t")

    def __init__(self, disk: Disk, t: int, by_key: bool) -> None:
        self.disk, self.t, self.by_key = disk, t, by_key  # by_key: a text sort key, or none

    def get(self, pk: Any, default: Any = None) -> Any:
        return Partition(self.disk, self.t, pk, self.by_key) if isinstance(pk, str) else default

    def __getitem__(self, pk: Any) -> Partition:
        """The partition, empty or not (ministack asks only for those it found, after `in`)."""
        if not isinstance(pk, str):
            raise KeyError(pk)
        return Partition(self.disk, self.t, pk, self.by_key)

    def __contains__(self, pk: object) -> bool:
        return isinstance(pk, str) and self.disk.has_partition(self.t, pk)

    def keys(self) -> list[str]:
        page = _scan_page.get()
        if page is not None and page[0] == self.t:
            keys = self.disk.scan_page(self.t, page[1], page[2])
            _scan_keys.set(keys)
            return list(keys)
        return self.disk.partition_keys(self.t)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def values(self) -> list[Partition]:
        return [
            Partition(self.disk, self.t, pk, self.by_key) for pk in self.disk.partition_keys(self.t)
        ]

    def items(self) -> list[tuple[str, Partition]]:
        return [
            (pk, Partition(self.disk, self.t, pk, self.by_key))
            for pk in self.disk.partition_keys(self.t)
        ]

    def __len__(self) -> int:
        return len(self.disk.partition_keys(self.t))

    def __bool__(self) -> bool:
        return self.disk.count(self.t) > 0

    def __deepcopy__(self, memo: Any) -> dict[str, int]:
        return {REFERENCE: self.t}


class Index:
    """One index's partitions, as ministack's {partition: {(pk, sk): None}}."""

    __slots__ = ("_disk", "_ix", "_t")

    def __init__(self, disk: Disk, t: int, ix: str) -> None:
        self._disk, self._t, self._ix = disk, t, ix

    def get(self, part: Any, default: Any = ()) -> Any:
        return self._disk.members(self._t, self._ix, _part(part))

    def __contains__(self, part: object) -> bool:
        return bool(self._disk.members(self._t, self._ix, _part(part)))


class Members:
    """A table's indexes, as ministack's {index name: {partition: {(pk, sk): None}}}."""

    __slots__ = ("_disk", "_names", "_t")

    def __init__(self, disk: Disk, t: int, names: set[str]) -> None:
        self._disk, self._t, self._names = disk, t, names

    def get(self, name: Any, default: Any = None) -> Any:
        return Index(self._disk, self._t, name) if name in self._names else default

    def __contains__(self, name: object) -> bool:
        return name in self._names


def install(disk: Disk) -> Any:
    """Keep ministack's tables in `disk`; returns the function that deletes what has expired
    (ministack's own reaper, a thread walking every item each minute, is stopped)."""
    from ministack.services import dynamodb as d

    def sort_value(table: dict[str, Any], item: dict[str, Any]) -> Any:
        name = table.get("sk_name")
        if not name:
            return None
        return d._sort_key_value(item.get(name), d._get_attr_type(table, name))

    def by_key(table: dict[str, Any]) -> bool:
        name = table.get("sk_name")
        return not name or d._get_attr_type(table, name) == "S"  # (binary: by its bytes)

    def expiry(table: dict[str, Any], item: dict[str, Any]) -> float | None:
        setting = d._ttl_settings.get(table.get("TableName"))
        if not setting or setting.get("TimeToLiveStatus") != "ENABLED":
            return None
        value = item.get(setting.get("AttributeName") or "")
        if value is None:
            return None
        try:
            return float(d._extract_key_val(value))
        except (TypeError, ValueError):
            return None

    def entries(t: int, table: dict[str, Any], item: Any) -> list[tuple[str, str, Any]]:
        found = []
        if not item:
            return found
        for name, hashes, ranges in d._index_key_schemas(table):
            if (t, name) not in disk.populated:
                continue  # filled from every item when first read (see `index_members`)
            partition = d._index_partition(item, hashes, ranges)
            if partition is None:
                continue
            sv = None
            if len(hashes) == 1 and len(ranges) == 1:
                sv = d._sort_key_value(item.get(ranges[0]), d._get_attr_type(table, ranges[0]))
            found.append((name, _part(partition), sv))
        return found

    owners: dict[int, int] = {}  # id(table) -> its rows' id, to drop them if it is replaced

    def view(table: dict[str, Any]) -> Items:
        """The table's items in the database: a new table's (or a snapshot's from before
        the database, or a copy put back by a rollback or restore) moved there, a snapshot's
        reference turned back into a view."""
        items = table.get("items")
        if type(items) is Items:
            return items
        if isinstance(items, dict) and set(items) == {REFERENCE}:
            t = int(items[REFERENCE])
            if not disk.has_table(t):
                raise RuntimeError(f"table {table.get('TableName')}: its rows ({t}) are missing")
            table["items"] = found = Items(disk, t, by_key(table))
            owners[id(table)] = t
            return found
        if id(table) in owners:  # its items were replaced wholesale: the old rows go
            disk.drop(owners.pop(id(table)))
        t = disk.new_table(str(table.get("TableArn", "")))
        table["items"] = found = Items(disk, t, by_key(table))
        owners[id(table)] = t
        for name, _, _ in d._index_key_schemas(table):
            disk.mark_populated(found.t, name)
        for pk, partition in list((items or {}).items()):
            for sk, item in list(partition.items()):
                store(table, found, pk, sk, item)
        return found

    def store(table: dict[str, Any], items: Items, pk: str, sk: str, item: Any) -> Any:
        old = disk.get(items.t, pk, sk)
        gone = entries(items.t, table, old)
        new = entries(items.t, table, item)
        disk.put(items.t, pk, sk, sort_value(table, item), expiry(table, item), item, gone, new)
        return old

    def set_item(table: dict[str, Any], pk: str, sk: str, item: Any) -> Any:
        old = store(table, view(table), pk, sk, item)
        if old is None:
            table["ItemCount"] = table.get("ItemCount", 0) + 1
            table["TableSizeBytes"] = table["ItemCount"] * 200
        return old

    def remove_item(table: dict[str, Any], pk: str, sk: str) -> Any:
        items = view(table)
        old = disk.get(items.t, pk, sk)
        if old is None:
            return None
        disk.delete(items.t, pk, sk, entries(items.t, table, old))
        table["ItemCount"] = max(0, table.get("ItemCount", 0) - 1)
        table["TableSizeBytes"] = table["ItemCount"] * 200
        return old

    def index_members(table: dict[str, Any]) -> Members:
        items = view(table)
        names = {name for name, _, _ in d._index_key_schemas(table)}
        for t, name in [entry for entry in disk.populated if entry[0] == items.t]:
            if name not in names:  # an index deleted since
                disk.forget_index(t, name)
        for name in names:
            if (items.t, name) not in disk.populated:  # an index added since: filled now
                disk.forget_index(items.t, name)
                disk.mark_populated(items.t, name)
                rows = []
                for pk, sk, item in disk.all_items(items.t):
                    for ix, part, sv in entries(items.t, table, item):
                        if ix == name:
                            rows.append((ix, part, sv, pk, sk))
                disk.add_entries(items.t, rows)
        return Members(disk, items.t, names)

    def update_counts(table: dict[str, Any]) -> None:
        count = disk.count(view(table).t)
        table["ItemCount"] = count
        table["TableSizeBytes"] = count * 200

    restore_state = d._restore_state

    def restored(data: Any) -> Any:
        answer = restore_state(data)
        for table in d._tables.all_values():
            view(table)
        return answer

    delete_table = d._delete_table

    def deleted(data: Any) -> Any:
        name = data.get("TableName") if isinstance(data, dict) else None
        table = d._tables.get(d._normalize_table_name(name)) if isinstance(name, str) else None
        answer = delete_table(data)
        items = table.get("items") if table is not None else None
        if type(items) is Items and d._tables.get(table.get("TableName")) is not table:
            disk.drop(items.t)
            owners.pop(id(table), None)
        return answer

    reset = d.reset

    def reset_all() -> None:
        reset()
        with d._lock:  # (run on a thread of its own; expiry takes the lock too)
            disk.clear()
            owners.clear()

    update_ttl = d._update_ttl

    def ttl_updated(data: Any) -> Any:
        answer = update_ttl(data)
        name = data.get("TableName") if isinstance(data, dict) else None
        table = d._tables.get(d._normalize_table_name(name)) if isinstance(name, str) else None
        if table is not None:
            items = view(table)
            rows = [(expiry(table, item), pk, sk) for pk, sk, item in disk.all_items(items.t)]
            disk.set_expiry(items.t, rows)
        return answer

    scan = d._scan

    def paged_scan(data: Any) -> Any:
        page = _page_of(data)
        if page is None:
            return scan(data)
        tokens = (_scan_page.set(page), _scan_keys.set(None))
        try:
            return scan(data)
        finally:
            _scan_keys.reset(tokens[1])
            _scan_page.reset(tokens[0])

    def _page_of(data: Any) -> tuple[int, tuple[str, str] | None, int] | None:
        """A Scan that reads one page of the table itself: its table, start key and Limit."""
        if not isinstance(data, dict) or data.get("IndexName"):
            return None
        if data.get("Segment") is not None or data.get("TotalSegments") is not None:
            return None
        limit, name = data.get("Limit"), data.get("TableName")
        if type(limit) is not int or limit < 1 or not isinstance(name, str):
            return None
        table = d._tables.get(d._normalize_table_name(name))
        if table is None or type(table.get("items")) is not Items:
            return None
        start = data.get("ExclusiveStartKey")
        if not start:
            return (table["items"].t, None, limit)
        if not isinstance(start, dict) or not table.get("sk_name"):
            return None  # (a table without a sort key: read whole, as before)
        pk = d._extract_key_val(start.get(table["pk_name"], {}))
        sk_name = table["sk_name"]
        sk = d._extract_key_val(start.get(sk_name, {})) if sk_name in start else ""
        if not isinstance(pk, str) or not isinstance(sk, str):
            return None
        return (table["items"].t, (pk, sk), limit)

    settings = d._ttl_settings
    listed = type(settings).all_items

    class Unlisted(type(settings)):  # type: ignore[misc]
        __slots__ = ()

        def all_items(self) -> list[Any]:  # ministack's reaper finds no table
            return []

    settings.__class__ = Unlisted

    def expire(now: float) -> int:
        """Delete every item whose TTL has passed (no stream record, as ministack's reaper)."""
        with d._lock:
            return expire_under_lock(now)

    def expire_under_lock(now: float) -> int:
        removed = 0
        for (account, region, name), setting in list(listed(settings)):
            if setting.get("TimeToLiveStatus") != "ENABLED":
                continue
            table = d._tables.get_scoped(account, region, name)
            if not table or type(table.get("items")) is not Items:
                continue
            for pk, sk in disk.expired(table["items"].t, now):
                if remove_item(table, pk, sk) is not None:
                    removed += 1
        return removed

    d._set_item = set_item
    d._remove_item = remove_item
    d._index_members = index_members
    d._index_item = lambda *args, **kwargs: None  # kept by set_item and remove_item
    d._update_counts = update_counts
    d._restore_state = restored
    d._delete_table = deleted
    d.reset = reset_all
    d._update_ttl = ttl_updated
    update_table = d._update_table

    def table_updated(data: Any) -> Any:
        """An index created or deleted is filled afresh when next read, even under a name an
        index had before."""
        answer = update_table(data)
        name = data.get("TableName") if isinstance(data, dict) else None
        table = d._tables.get(d._normalize_table_name(name)) if isinstance(name, str) else None
        items = table.get("items") if table is not None else None
        for update in (data.get("GlobalSecondaryIndexUpdates") or []) if items else []:
            for action in ("Create", "Delete"):
                index = update.get(action) if isinstance(update, dict) else None
                if type(items) is Items and isinstance(index, dict):
                    disk.forget_index(items.t, str(index.get("IndexName")))
        return answer

    d._scan = paged_scan
    d._update_table = table_updated
    return expire
