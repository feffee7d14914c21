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

from chalicelib.loopback_session import LoopbackSession

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
        """Wraps what sends a request: botocore's session, and the embedded AWS's socket
        (`LoopbackSession.exchange`; what it hands to botocore's session is counted there)."""
        raw = self._raw
        wrapped = [(URLLib3Session, "send"), (LoopbackSession, "exchange")]
        originals = [getattr(owner, name) for owner, name in wrapped]

        def recording(original: Any) -> Any:
            def send(session: Any, request: Any) -> Any:
                raw.append((_text(request.headers.get("X-Amz-Target")), request.body))
                return original(session, request)

            return send

        for (owner, name), original in zip(wrapped, originals, strict=True):
            setattr(owner, name, recording(original))
        try:
            yield self
        finally:
            for (owner, name), original in zip(wrapped, originals, strict=True):
                setattr(owner, name, original)
