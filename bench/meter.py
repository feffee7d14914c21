"""Every AWS request the real code makes, counted by botocore's event hooks, with the capacity
DynamoDB would bill for it.

`Meter.install()` wraps `botocore.session.Session.create_client`, so every client made after
it (PynamoDB's, the queues', SES's) gets two hooks: `before-parameter-build` asks DynamoDB for
`ReturnConsumedCapacity=INDEXES` and keeps the request's parameters, and `after-call` records
the operation, the tables and the read and write request units the answer reports. The
embedded AWS computes those units by DynamoDB's rules (1 KB per write unit, 4 KB per read
unit, eventually consistent reads at half, transactions at double, index writes included),
so item sizes are priced as they are, not guessed.

Each request is charged to the `driver` in effect when it was made ("api POST /forms/...",
"pipeline form_submitted", "sender", ...), so a bench can tell what each part costs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore.session

WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
    | {"BatchExecuteStatement"}  # the pipeline's marks, PartiQL UPDATEs (pipeline/marks.py)
)
READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
_PARAMS = "leadflow_meter_params"


@dataclass(frozen=True)
class Request:
    """One AWS API call as billed: read and write units are DynamoDB's, zero elsewhere."""

    service: str
    operation: str
    driver: str
    tables: tuple[str, ...] = ()
    read_units: float = 0.0
    write_units: float = 0.0
    failed: bool = False
    messages: int = 0  # SQS entries sent or SES messages in this call
    units_by_table: tuple[tuple[str, float], ...] = ()  # DynamoDB's split of the units


def _units(consumed: Any) -> dict[str, float]:
    """Units per table from ConsumedCapacity (a dict, or a list of them for batches and
    transactions)."""
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    units: Counter[str] = Counter()
    for entry in entries:
        units[str(entry.get("TableName", ""))] += float(entry.get("CapacityUnits", 0.0))
    return dict(units)


def _with_index_writes(
    units: dict[str, float], params: dict[str, Any], parsed: dict[str, Any]
) -> dict[str, float]:
    """The embedded AWS leaves index writes out of a PartiQL batch's units; DynamoDB bills
    them. Each mark that is written takes its event out of the `pending` index: one more.
    (It bills each statement one unit whatever the item's size: right for events under 1 KB,
    which most are; a larger one is under-priced by a unit a KB, twice with its index.)"""
    out = dict(units)
    answers = parsed.get("Responses") or []
    for statement, answer in zip(params.get("Statements") or [], answers, strict=False):
        text = statement.get("Statement", "")
        if "REMOVE pending_shard" in text and "Error" not in answer:
            table = text.split('"')[1]
            out[table] = out.get(table, 0.0) + 1.0
    return out


def _tables(params: dict[str, Any]) -> tuple[str, ...]:
    if "TableName" in params:
        return (str(params["TableName"]),)
    names: set[str] = set()
    for key in ("RequestItems",):
        names.update(params.get(key, {}) or {})
    for entry in params.get("TransactItems", []) or []:
        for action in entry.values():
            if isinstance(action, dict) and "TableName" in action:
                names.add(str(action["TableName"]))
    return tuple(sorted(names))


def _failed_write_units(operation: str, params: dict[str, Any]) -> float:
    """A refused conditional write is still billed: one unit per item it named (two in a
    transaction). DynamoDB's answer carries no ConsumedCapacity then, so it is counted here."""
    if operation == "TransactWriteItems":
        return 2.0 * len(params.get("TransactItems", []) or [])
    if operation == "BatchWriteItem":
        return float(sum(len(v) for v in (params.get("RequestItems") or {}).values()))
    return 1.0


def _messages(service: str, operation: str, params: dict[str, Any]) -> int:
    if service == "sqs" and operation == "SendMessageBatch":
        return len(params.get("Entries", []) or [])
    if service in ("sqs", "ses", "sesv2") and operation in (
        "SendMessage",
        "SendEmail",
        "SendRawEmail",
    ):
        return 1
    return 0


class Meter:
    """Counts while installed; `acting(driver)` names who is calling."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.driver = "setup"
        self.counting = True
        self._original: Any = None

    # --- attribution ----------------------------------------------------------------------

    @contextmanager
    def acting(self, driver: str) -> Iterator[None]:
        before, self.driver = self.driver, driver
        try:
            yield
        finally:
            self.driver = before

    @contextmanager
    def paused(self) -> Iterator[None]:
        before, self.counting = self.counting, False
        try:
            yield
        finally:
            self.counting = before

    def mark(self) -> int:
        return len(self.requests)

    def since(self, mark: int) -> list[Request]:
        return self.requests[mark:]

    # --- botocore hooks -------------------------------------------------------------------

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any):
        if model.input_shape is not None and "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "INDEXES")
        context[_PARAMS] = params

    def _after(
        self,
        http_response: Any,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> None:
        if not self.counting:
            return
        service = model.service_model.service_name
        operation = model.name
        params = context.get(_PARAMS, {}) or {}
        failed = http_response.status_code >= 300
        units = _units(parsed.get("ConsumedCapacity"))
        if operation == "BatchExecuteStatement":
            units = _with_index_writes(units, params, parsed)
        total = sum(units.values())
        reads = total if operation in READS else 0.0
        writes = total if operation in WRITES else 0.0
        if failed and operation in WRITES and not total:
            writes = _failed_write_units(operation, params)
        self.requests.append(
            Request(
                service=service,
                operation=operation,
                driver=self.driver,
                tables=_tables(params) if service == "dynamodb" else (),
                read_units=reads,
                write_units=writes,
                failed=failed,
                messages=_messages(service, operation, params),
                units_by_table=tuple(sorted(units.items())),
            )
        )

    def watch(self, client: Any) -> Any:
        """Hook one client made before `install` (or without it); hooking twice counts once."""
        events = client.meta.events
        events.register("before-parameter-build", self._before, unique_id=f"meter-b-{id(self)}")
        events.register("after-call", self._after, unique_id=f"meter-a-{id(self)}")
        return client

    def install(self) -> Meter:
        """Hook every botocore client created from now on (install before building any)."""
        original = botocore.session.Session.create_client
        meter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            return meter.watch(original(session, *args, **kwargs))

        self._original = original
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        return self

    def uninstall(self) -> None:
        if self._original is not None:
            botocore.session.Session.create_client = self._original  # type: ignore[method-assign]
            self._original = None
