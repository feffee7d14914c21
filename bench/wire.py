"""DynamoDB calls counted where they leave the process, so no client and no retry goes unseen.

A botocore event hook would see only the client it is registered on; wrapping the HTTP session
every botocore client sends through also catches a model bound to some other client, and counts
each retry as the extra request it is.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.httpsession import URLLib3Session

_TARGET_PREFIX = "DynamoDB_20120810."


@dataclass(frozen=True)
class Call:
    """One HTTP request: the DynamoDB operation and, for single-table operations, the table."""

    operation: str
    table: str = ""
    body: str = field(default="", compare=False, repr=False)

    def label(self, prefix: str) -> str:
        table = self.table.removeprefix(prefix)
        return f"{self.operation}({table})" if table else self.operation


def breakdown(calls: list[Call], prefix: str) -> Counter[str]:
    return Counter(call.label(prefix) for call in calls)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _parse(target: str, body: Any) -> Call:
    text = _text(body)
    if not target.startswith(_TARGET_PREFIX):
        return Call(f"non-DynamoDB {target or 'request'}", body=text)
    try:
        table = json.loads(text).get("TableName", "")
    except (ValueError, AttributeError):
        table = ""
    return Call(target.removeprefix(_TARGET_PREFIX), table, text)


class WireLog:
    """Every request botocore sends while listening; slice it with `mark()` and `between()`."""

    def __init__(self) -> None:
        # Raw headers and bodies only: parsing waits until the timed loops are done.
        self._raw: list[tuple[str, Any]] = []

    def mark(self) -> int:
        return len(self._raw)

    def between(self, start: int, end: int) -> list[Call]:
        return [_parse(target, body) for target, body in self._raw[start:end]]

    @contextmanager
    def listening(self) -> Iterator[WireLog]:
        original = URLLib3Session.send
        raw = self._raw

        def send(session: URLLib3Session, request: Any) -> Any:
            raw.append((_text(request.headers.get("X-Amz-Target")), request.body))
            return original(session, request)

        URLLib3Session.send = send  # type: ignore[method-assign]
        try:
            yield self
        finally:
            URLLib3Session.send = original  # type: ignore[method-assign]
