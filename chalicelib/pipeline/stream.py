"""The DynamoDB stream consumer: the same function runs on Lambda and in the local driver."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.errors import Busy
from chalicelib.pipeline.marks import Marks
from chalicelib.pipeline.processor import Processor
from chalicelib.store.models import EventModel
from chalicelib.store.outage import is_outage

log = logging.getLogger(__name__)


def handle_batch(
    records: list[dict[str, Any]], processor: Processor, marks: Marks | None = None
) -> dict[str, Any]:
    """Process INSERT records in order; stop at the first failure and report it.

    Lambda then retries from that record (ReportBatchItemFailures checkpointing), so later
    events of the same contact are never processed ahead of an earlier failed one; records
    already processed are skipped on the retry because they are no longer pending. The
    processed records are marked together before the answer (`marks`: the caller's own
    collection, which it writes when it likes). If that last write fails, the batch fails
    whole and is retried: its handlers find their work done, and its counts their markers.
    """
    own = marks is None
    collected = Marks(processor.clock) if marks is None else marks
    try:
        for record in records:
            if record.get("eventName") != "INSERT":
                continue
            item = EventModel.from_raw_data(record["dynamodb"]["NewImage"])
            try:
                processor.process(item, collected)
            except Exception as exc:
                if is_outage(exc):
                    raise  # not the event's fault: retried from here, and no attempt counted
                if isinstance(exc, Busy):  # contention on one contact: retried, expected,
                    log.warning("processing %s: %s; retrying", item.event_id, exc)
                else:  # and not counted towards parking the event
                    log.exception("processing %s failed", item.event_id)
                    processor.fail(item, exc)
                sequence = record["dynamodb"]["SequenceNumber"]
                return {"batchItemFailures": [{"itemIdentifier": sequence}]}
        return {"batchItemFailures": []}
    finally:
        if own:
            collected.flush()
