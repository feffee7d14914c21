"""One contact read shared by the handlers of one event, until anything is written.

Every handler of an event reads the contact it decides on. While no handler has written, the
contact is what the first one read (a contact's events are processed one at a time), so the
next handler gets that answer instead of another GetItem. Any write this thread makes, to any
table and whether it succeeds or not, ends the sharing: the next read goes to the store, so a
handler always sees what the handlers before it committed. Outside `sharing()` (the API, the
tick, the sender) nothing is kept.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
MISSING = object()
_local = threading.local()


@contextmanager
def sharing() -> Iterator[None]:
    _local.reads = {}
    try:
        yield
    finally:
        _local.reads = None


def recall(key: str) -> Any:
    """A copy of what was read under `key` since the last write, or MISSING."""
    reads = getattr(_local, "reads", None)
    if not reads or key not in reads:
        return MISSING
    return copy.deepcopy(reads[key])


def keep(key: str, value: Any) -> None:
    reads = getattr(_local, "reads", None)
    if reads is not None:
        reads[key] = copy.deepcopy(value)


def watch(client: Any) -> None:
    """Forget every shared read when this client is about to write (botocore's event hook
    runs on the writing thread)."""
    client.meta.events.register("before-call.dynamodb", _before_call, unique_id=__name__)


def _before_call(model: Any, **kwargs: Any) -> None:
    reads = getattr(_local, "reads", None)
    if reads and model.name in WRITES:
        reads.clear()
