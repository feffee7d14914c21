"""Binding the models to real tables: names and endpoint from Settings, creation for local use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib import loopback, user_agent
from chalicelib.config import POOL_CONNECTIONS, Settings
from chalicelib.store import capacity, shared_reads, wire
from chalicelib.store.models import MODELS

_BASE_NAMES = {model: model.Meta.table_name for model in MODELS}
TRANSACTION_ITEMS = 100  # DynamoDB's most items in one TransactWriteItems


def base_name(model: type[Model]) -> str:
    return _BASE_NAMES[model]


_connections: dict[tuple[str, str | None], Connection] = {}


def connection() -> Connection:
    """One connection (one botocore client) per endpoint, shared by every model.

    PynamoDB would otherwise build a client per table, and building one costs about
    0.2 s of a Lambda cold start each.
    """
    meta = MODELS[0].Meta
    key = (meta.region, meta.host)
    if key not in _connections:
        _connections[key] = Connection(
            region=meta.region, host=meta.host, max_pool_connections=POOL_CONNECTIONS
        )
    return _connections[key]


def bind(settings: Settings) -> None:
    """Point every model at `{prefix}{name}` on the configured endpoint (the emulator or AWS)."""
    for model in MODELS:
        model.Meta.table_name = settings.table_prefix + _BASE_NAMES[model]
        model.Meta.region = settings.region
        model.Meta.host = settings.endpoint_url
    client = connection().client
    shared_reads.watch(client)
    capacity.forgo(client)
    wire.quicken(client)
    user_agent.remember(loopback.adapt(client))
    for model in MODELS:
        model._connection = None
        model._get_connection().connection._client = client


def create_all() -> None:
    """Create missing tables (local stack and tests; AWS gets them from infra/)."""
    existing = set(connection().client.list_tables()["TableNames"])
    for model in MODELS:
        if model.Meta.table_name not in existing:
            model.create_table(wait=True)
            _enable_ttl(model)
        else:
            _add_missing_indexes(model)


def _add_missing_indexes(model: type[Model]) -> None:
    """Indexes a newer release added to a table the local state already has (DynamoDB
    fills a new index from the items already there); on AWS, infra/ adds them."""
    client = connection().client
    table = client.describe_table(TableName=model.Meta.table_name)["Table"]
    have = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes") or ()}
    schema = model._get_schema()
    for index in schema["global_secondary_indexes"]:
        if index["index_name"] in have:
            continue
        client.update_table(
            TableName=model.Meta.table_name,
            AttributeDefinitions=schema["attribute_definitions"],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": index["index_name"],
                        "KeySchema": index["key_schema"],
                        "Projection": index["projection"],
                    }
                }
            ],
        )


def _enable_ttl(model: type[Model]) -> None:
    ttl = [name for name, attr in model.get_attributes().items() if isinstance(attr, TTLAttribute)]
    if ttl:
        model._get_connection().connection.client.update_time_to_live(
            TableName=model.Meta.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl[0]},
        )


def condition_failed(reason: object) -> bool:
    """A transaction cancellation reason saying that item's condition did not hold."""
    return getattr(reason, "code", None) == "ConditionalCheckFailed"


Write = tuple[str, Any, dict[str, Any]]
"""("save" | "update" | "delete" | ..., model, kwargs), or ("put", a store/puts.py request, {})."""


class _Transaction(TransactWrite):
    def put(self, request: dict[str, Any]) -> None:
        """A Put already built (store/puts.py): no model instance to serialize."""
        self._put_items.append(request)


# PynamoDB sends a transaction's items grouped by kind, in this order, keeping the order
# within each kind; DynamoDB lists cancellation reasons in the order sent.
_SENT_FIRST = {"condition_check": 0, "delete": 1, "save": 2, "put": 2, "update": 3}


def transact(items: Iterable[Write]) -> None:
    """Write the items as one TransactWriteItems: all of them, or none. If it is cancelled,
    the error's `cancellation_reasons` are in the order of `items`, one for each."""
    items = list(items)
    try:
        with _Transaction(connection=connection()) as tx:
            for op, target, kwargs in items:
                getattr(tx, op)(target, **kwargs)
    except TransactWriteError as exc:
        _in_callers_order(exc, [op for op, _, _ in items])
        raise


def _in_callers_order(exc: TransactWriteError, ops: list[str]) -> None:
    reasons = exc.cancellation_reasons
    if len(reasons) != len(ops) or not set(ops) <= _SENT_FIRST.keys():
        return
    sent = sorted(range(len(ops)), key=lambda i: _SENT_FIRST[ops[i]])
    ordered: list[Any] = [None] * len(ops)
    for position, index in enumerate(sent):
        ordered[index] = reasons[position]
    exc.cause.cancellation_reasons = ordered


def failed_conditions(exc: TransactWriteError) -> list[int]:
    """The positions of the items whose condition cancelled the transaction."""
    return [i for i, r in enumerate(exc.cancellation_reasons or []) if condition_failed(r)]


def conflicted(reasons: list) -> bool:
    """Whether a transaction was cancelled because another one touched the same items."""
    return any(getattr(r, "code", None) == "TransactionConflict" for r in reasons)


def plain(value: Any) -> Any:
    """A map attribute as a plain dict (None stays None), for the domain objects."""
    if value is None:
        return None
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)


def json_ready(value: Any) -> Any:
    """A value read from a table as plain JSON types: maps (MapAttribute too), lists and
    sets within it (sets sorted), times as ISO text, bytes as text."""
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(json_ready(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value.isoformat() if hasattr(value, "isoformat") else value


# DynamoDB refuses an empty key and a partition key over 2,048 bytes with a ValidationException;
# ids from a URL or a body are looked up only when they can be keys at all.
MAX_KEY_BYTES = 2048


def can_be_key(value: str) -> bool:
    """True when `value` can be a partition key; anything else names no item."""
    return bool(value) and len(value.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES
