"""Polls a DynamoDB stream and hands batches to the same handler Lambda would call.

Honours ReportBatchItemFailures like Lambda does: a failed record is retried from its
sequence number, up to `max_retries`, then skipped (it stays pending for the sweeper).

It follows each shard's NextShardIterator, as Lambda's poller does, and asks for a fresh
iterator only after a failure or an error; shards are listed again every few seconds. (This
relies on moto_dynamodb keeping the table, and so its stream shard, in place when a
transaction is cancelled; moto alone replaces it.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3

log = logging.getLogger(__name__)
BatchHandler = Callable[[dict[str, Any]], dict[str, Any]]
DISCOVER_EVERY = 5.0  # seconds


class StreamDriver:
    def __init__(
        self, table_name: str, handler: BatchHandler, batch_size: int = 100, max_retries: int = 3
    ) -> None:
        self.handler = handler
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.streams = boto3.client("dynamodbstreams")
        table = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]
        self.stream_arn = table["LatestStreamArn"]
        self._positions: dict[str, tuple[str, str | None]] = {}
        self._iterators: dict[str, str] = {}
        self._retries: dict[str, int] = {}
        self._discovered_at: float | None = None

    def _iterator(self, shard_id: str, kind: str, sequence: str | None = None) -> str:
        kwargs: dict[str, Any] = {
            "StreamArn": self.stream_arn,
            "ShardId": shard_id,
            "ShardIteratorType": kind,
        }
        if sequence:
            kwargs["SequenceNumber"] = sequence
        return self.streams.get_shard_iterator(**kwargs)["ShardIterator"]

    def _discover(self) -> None:
        now = time.monotonic()
        if self._discovered_at is not None and now - self._discovered_at < DISCOVER_EVERY:
            return
        self._discovered_at = now
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in shards["Shards"]:
            self._positions.setdefault(shard["ShardId"], ("TRIM_HORIZON", None))

    def poll_once(self) -> int:
        """Read every shard once; returns how many records were handed to the handler."""
        self._discover()
        handled = 0
        for shard_id, (kind, sequence) in list(self._positions.items()):
            iterator = self._iterators.pop(shard_id, None) or self._iterator(
                shard_id, kind, sequence
            )
            page = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
            records = page.get("Records", [])
            if not records:
                if page.get("NextShardIterator"):
                    self._iterators[shard_id] = page["NextShardIterator"]
                continue
            handled += len(records)
            result = self.handler({"Records": records}) or {}
            failures = result.get("batchItemFailures") or []
            if failures:
                self._positions[shard_id] = self._after_failure(failures[0]["itemIdentifier"])
                continue  # the next poll starts again at the failed record
            last = records[-1]["dynamodb"]["SequenceNumber"]
            self._positions[shard_id] = ("AFTER_SEQUENCE_NUMBER", last)
            if page.get("NextShardIterator"):
                self._iterators[shard_id] = page["NextShardIterator"]
        return handled

    def _after_failure(self, sequence: str) -> tuple[str, str]:
        tries = self._retries.get(sequence, 0) + 1
        self._retries[sequence] = tries
        if tries > self.max_retries:
            log.warning("giving up on stream record %s; the sweeper will retry it", sequence)
            self._retries.pop(sequence, None)
            return ("AFTER_SEQUENCE_NUMBER", sequence)
        return ("AT_SEQUENCE_NUMBER", sequence)

    def run(self, stop: threading.Event, interval: float = 0.1) -> None:
        while not stop.is_set():
            try:
                if not self.poll_once():
                    stop.wait(interval)
            except Exception:
                log.exception("stream driver poll failed")
                self._iterators.clear()  # start again from the last position handled
                stop.wait(1.0)
