"""Locally, what Lambda's SQS trigger does: poll a queue and hand batches to the same handler.

Records are shaped as Lambda delivers them; messages the handler reports as failed stay on
the queue and come back after their visibility timeout, as on AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.messaging.queues import Queues

Handler = Callable[[list[dict[str, Any]]], dict[str, Any]]


def drain_once(queues: Queues, queue: str, handler: Handler, wait_seconds: int = 0) -> int:
    """Receive one batch, handle it, delete what succeeded; returns how many were received."""
    messages = queues.receive(queue, wait_seconds=wait_seconds)
    if not messages:
        return 0
    records = [
        {"messageId": str(i), "receiptHandle": m.receipt, "body": json.dumps(m.body)}
        for i, m in enumerate(messages)
    ]
    answer = handler(records)
    failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
    done = [m for r, m in zip(records, messages, strict=True) if r["messageId"] not in failed]
    queues.delete_many(queue, done)
    return len(messages)
