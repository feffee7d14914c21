"""moto's DynamoDB, made fit to be the database of the local stack and the tests.

moto 5.2 backs up every table a transaction names with `copy.deepcopy` before it starts and
puts the copies back if an operation fails. The copy holds every item and every stream
record, so each transaction costs time and memory in proportion to the table: after a few
hundred leads a form post took seconds and the process gigabytes. Putting a copy back also
replaces the table, losing what other threads wrote meanwhile, and the copy itself can fail
when another thread writes during it ("dictionary changed size during iteration").

moto also answers a query on a table's key by sorting every item of the table, so reading
one contact's timeline slowed with every other contact's events.

`install()` gives moto what DynamoDB promises instead. A query on the table's key reads that
key's items alone. Every call into the DynamoDB backend
takes one lock, so a transaction is isolated. A transaction checks all its conditions first
and writes only when every one holds, so a cancelled transaction writes nothing. If a write
fails anyway (an update expression the item cannot take), the items it touched are restored
one by one and the stream records it made are dropped. The cost is the transaction's own
items, as on AWS.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend, Item
from moto.dynamodb.models.table import Table

_LOCK = threading.RLock()
_GUARDED = (
    "create_table",
    "delete_table",
    "update_table",
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "describe_table",
)
MAX_ITEMS = 100
_installed = False
_query = threading.local()  # the hash key a query on this thread reads, while it runs

Errors = list[tuple[str | None, str | None, dict[str, Any] | None]]


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return call


def _key(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


class _Failed(Exception):
    """A condition that does not hold, with the item as it is when the caller asked for it."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("The conditional request failed")
        self.item = item


def _check(backend: DynamoDBBackend, op: dict[str, Any], key: dict[str, Any]) -> None:
    expression = op.get("ConditionExpression")
    if expression is None:
        return
    current = backend.get_item(op["TableName"], key)
    condition = get_filter_expression(
        expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if not condition.expr(current):
        old = None
        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
            old = current.to_json()["Attributes"]
        raise _Failed(old)


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]):
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(
            op["TableName"],
            op["Item"],
            expression_attribute_names=names,
            expression_attribute_values=values,
        )
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key)
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


def _original(
    backend: DynamoDBBackend, op_type: str, table_name: str, key: dict[str, Any]
) -> tuple[str, dict[str, Any], Item | None]:
    """The item as it is before a write. A Put or Delete replaces the item object, so the old
    one can be kept as it is; an Update changes it in place, so it is copied."""
    item = backend.get_item(table_name, key)
    return table_name, key, copy.deepcopy(item) if op_type == "Update" else item


def _restore(
    backend: DynamoDBBackend,
    before: list[tuple[str, dict[str, Any], Item | None]],
    stream_lengths: dict[str, int],
) -> None:
    for table_name, key, item in before:
        if item is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, item.to_json()["Attributes"])
    for table_name, length in stream_lengths.items():
        shard = backend.get_table(table_name).stream_shard
        if shard is not None:
            del shard.items[length:]


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """All conditions, then all writes: a cancelled transaction leaves no trace."""
    if len(transact_items) > MAX_ITEMS:
        raise TooManyTransactionsException()
    with _LOCK:
        ops: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        seen: set[tuple[str, str]] = set()
        errors: Errors = []
        for item in transact_items:
            if len(item) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(item.items()))
            try:
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                key = _key(self, op_type, op)
                name = (str(op["TableName"]), str(dict(sorted(key.items()))))
                if name in seen:
                    raise MultipleTransactionsException()
                seen.add(name)
                _check(self, op, key)
                ops.append((op_type, op, key))
                errors.append((None, None, None))
            except MultipleTransactionsException:
                raise
            except _Failed as exc:
                errors.append(("ConditionalCheckFailed", str(exc), exc.item))
            except Exception as exc:  # moto reports any other failure as a cancellation reason
                errors.append((type(exc).__name__, str(exc), None))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        writes = [(t, o, k) for t, o, k in ops if t != "ConditionCheck"]
        before = [_original(self, t, o["TableName"], k) for t, o, k in writes]
        streams = {o["TableName"] for _, o, _ in writes}
        lengths = {
            name: len(shard.items)
            for name in streams
            if (shard := self.get_table(name).stream_shard) is not None
        }
        try:
            for op_type, op, key in writes:
                _apply(self, op_type, op, key)
        except Exception:
            _restore(self, before, lengths)
            raise


def _one_key(query: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(query)
    def call(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name is not None or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        _query.hash_key = hash_key
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _query.hash_key = None

    return call


def _items_of_key(all_items: Callable[[Table], list[Item]]) -> Callable[[Table], list[Item]]:
    @functools.wraps(all_items)
    def call(self: Table) -> list[Item]:
        hash_key = getattr(_query, "hash_key", None)
        if hash_key is None:
            return all_items(self)
        bucket = self.items.get(hash_key)
        if bucket is None:
            return []
        if not self.range_key_attr:
            return [bucket]  # type: ignore[list-item]
        return sorted(bucket.values(), key=lambda item: item.range_key)

    return call


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    global _installed
    if _installed:
        return
    for name in _GUARDED:
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.query = _one_key(Table.query)  # type: ignore[method-assign]
    Table.all_items = _items_of_key(Table.all_items)  # type: ignore[method-assign]
    _installed = True
