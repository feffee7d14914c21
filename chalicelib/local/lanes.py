"""Per-contact lanes for the stream: each contact's events in order, many contacts at once.

The stream driver hands every record it reads to the lane that owns its contact and reads on;
each lane processes its records one by one on a thread of its own. A contact's next event so
waits only for that contact's previous one, never for a whole batch of other contacts, which is
what Lambda's ParallelizationFactor gives on AWS. A record that fails is tried again
`max_retries` times in place (keeping its contact's order), then left pending for the sweeper,
as the stream driver did before. If the process dies with records queued, they too are pending
in the events table, and the sweeper finds them.
"""

from __future__ import annotations

import logging
import queue
import zlib
from collections.abc import Callable
from typing import Any

from chalicelib.store.outage import is_outage

log = logging.getLogger(__name__)
Record = dict[str, Any]
TAKE_SECONDS = 0.2


def contact_of(record: Record) -> str:
    image = record.get("dynamodb", {}).get("Keys") or record.get("dynamodb", {}).get("NewImage")
    return str((image or {}).get("contact_id", {}).get("S", ""))


class Lanes:
    def __init__(
        self,
        handle: Callable[[list[Record]], dict[str, Any]],
        lanes: int,
        depth: int = 1000,
        max_retries: int = 3,
    ) -> None:
        self.handle = handle
        self.max_retries = max_retries
        self._queues: list[queue.Queue[Record]] = [queue.Queue(depth) for _ in range(lanes)]
        self._current: list[Record | None] = [None] * lanes
        self._tries = [0] * lanes

    def accept(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The stream driver's handler: queue INSERTs on their lanes (waiting while a lane is
        full, so a flood slows the reader rather than filling memory)."""
        for record in batch["Records"]:
            if record.get("eventName") != "INSERT":
                continue
            lane = zlib.crc32(contact_of(record).encode()) % len(self._queues)
            self._queues[lane].put(record)
        return {"batchItemFailures": []}

    def work(self, lane: int) -> int:
        """Process the lane's next record (a Loop's step); 0 when there was none."""
        record = self._current[lane]
        if record is None:
            try:
                record = self._queues[lane].get(timeout=TAKE_SECONDS)
            except queue.Empty:
                return 0
            self._current[lane], self._tries[lane] = record, 0
        try:
            answer = self.handle([record])
        except Exception as exc:
            if is_outage(exc):
                raise  # the Loop waits for the store; the record stays current
            log.exception("stream record %s failed", record["dynamodb"].get("SequenceNumber"))
            answer = {"batchItemFailures": [{"itemIdentifier": "?"}]}
        if answer.get("batchItemFailures"):
            self._tries[lane] += 1
            if self._tries[lane] <= self.max_retries:
                return 0  # the Loop waits a moment, then it is tried again
            sequence = record["dynamodb"].get("SequenceNumber")
            log.warning("giving up on stream record %s; the sweeper will retry it", sequence)
        self._current[lane] = None
        return 1

    def waiting(self) -> int:
        return sum(q.qsize() for q in self._queues)
