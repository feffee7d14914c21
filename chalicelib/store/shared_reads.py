"""One read of an item shared by the handlers of one event, until its table is written.

Every handler of an event reads the contact it decides on. While no handler has written the
contacts table, the contact is what the first one read (a contact's events are processed one
at a time), so the next handler gets that answer instead of another GetItem. A write to a
table, whether it succeeds or not, ends the sharing of that table's items: the next read goes
to the store, so a handler always sees what the handlers before it committed. Outside
`sharing()` (the API, the tick, the sender) nothing is kept.

Another process may write the contact meanwhile (the API, a sales action): a handler then
decides on a read as old as the event's first, not its own. Handlers that write are safe (the
write is conditioned on the contact's version and retried on a fresh read); those that only
read accept it, as they accept any read going stale while they decide.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_watched: weakref.WeakSet[Any] = weakref.WeakSet()
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
# PartiQL names its tables inside the statements: a request of these forgets every read.
STATEMENTS = frozenset({"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})
MISSING = object()
_local = threading.local()


@contextmanager
def sharing() -> Iterator[None]:
    _local.reads = {}
    try:
        yield
    finally:
        _local.reads = None


def recall(client: Any, table: str, key: str) -> Any:
    """A copy of what was read of `key` since `table` was last written, or MISSING (always,
    for a client whose writes are not watched)."""
    reads = getattr(_local, "reads", None)
    if not reads or (table, key) not in reads or client not in _watched:
        return MISSING
    return copy.deepcopy(reads[(table, key)])


def keep(client: Any, table: str, key: str, value: Any) -> None:
    reads = getattr(_local, "reads", None)
    if reads is not None and client in _watched:
        reads[(table, key)] = copy.deepcopy(value)


def watch(client: Any) -> None:
    """Forget the shared reads of every table a request of this client is about to write
    (botocore's event hook runs on the writing thread)."""
    client.meta.events.register(
        "before-parameter-build.dynamodb", _before_write, unique_id=__name__
    )
    _watched.add(client)


def _before_write(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
    reads = getattr(_local, "reads", None)
    if reads and model.name in STATEMENTS:
        reads.clear()
    if not reads or model.name not in WRITES:
        return
    written = written_tables(params)
    for entry in [e for e in reads if e[0] in written]:
        del reads[entry]


def written_tables(params: dict[str, Any]) -> set[str]:
    """The tables a write request names: its own, each transaction item's, each batch's."""
    names = {params["TableName"]} if "TableName" in params else set()
    names.update(params.get("RequestItems") or ())
    for entry in params.get("TransactItems") or ():
        names.update(a["TableName"] for a in entry.values() if "TableName" in a)
    return names
