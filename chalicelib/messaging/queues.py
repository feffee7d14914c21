"""SQS queues: the send queue, the webhook queue and the journey fan-out queue.

Names derive from the stage like the tables do; the same client talks to the emulator locally.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from chalicelib import loopback, user_agent
from chalicelib.config import POOL_CONNECTIONS, Settings

SENDS = "sends"
WEBHOOKS = "webhooks"
WEBHOOKS_DEAD = "webhooks-dead"
ADVANCE = "journey-advance"
IMPORTS = "imports"
QUEUES = (SENDS, WEBHOOKS, WEBHOOKS_DEAD, ADVANCE, IMPORTS)
log = logging.getLogger(__name__)
BATCH = 10


@dataclass(frozen=True)
class Message:
    receipt: str
    body: dict[str, Any]


class Queues:
    def __init__(self, settings: Settings) -> None:
        self.prefix = settings.table_prefix
        client = boto3.client(
            "sqs",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=Config(max_pool_connections=POOL_CONNECTIONS),
        )
        self.client = user_agent.remember(loopback.adapt(client))
        self._urls: dict[str, str] = {}

    def name(self, queue: str) -> str:
        return self.prefix + queue

    def url(self, queue: str) -> str:
        if queue not in self._urls:
            self._urls[queue] = self.client.get_queue_url(QueueName=self.name(queue))["QueueUrl"]
        return self._urls[queue]

    def create_all(self) -> None:
        for queue in QUEUES:
            self._urls[queue] = self.client.create_queue(QueueName=self.name(queue))["QueueUrl"]

    def send(self, queue: str, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self.client.send_message(
            QueueUrl=self.url(queue), MessageBody=json.dumps(body), DelaySeconds=delay_seconds
        )

    def send_many(self, queue: str, bodies: Iterable[dict[str, Any]]) -> int:
        """Send in batches of ten; returns how many SendMessageBatch calls it took."""
        pending = [json.dumps(b) for b in bodies]
        calls = 0
        for start in range(0, len(pending), BATCH):
            chunk = pending[start : start + BATCH]
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
            answer = self.client.send_message_batch(QueueUrl=self.url(queue), Entries=entries)
            calls += 1
            if answer.get("Failed"):
                raise RuntimeError(f"{queue}: {len(answer['Failed'])} messages not sent")
        return calls

    def receive(self, queue: str, wait_seconds: int = 0) -> list[Message]:
        answer = self.client.receive_message(
            QueueUrl=self.url(queue), MaxNumberOfMessages=BATCH, WaitTimeSeconds=wait_seconds
        )
        return [
            Message(m["ReceiptHandle"], json.loads(m["Body"])) for m in answer.get("Messages", [])
        ]

    def delete(self, queue: str, message: Message) -> None:
        self.client.delete_message(QueueUrl=self.url(queue), ReceiptHandle=message.receipt)

    def delete_many(self, queue: str, messages: list[Message]) -> None:
        """Delete up to a batch of received messages in one call (what Lambda does after a
        batch succeeds)."""
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            entries = [{"Id": str(i), "ReceiptHandle": m.receipt} for i, m in enumerate(chunk)]
            answer = self.client.delete_message_batch(QueueUrl=self.url(queue), Entries=entries)
            if answer.get("Failed"):  # they come back after their visibility timeout
                log.warning("%s: %d messages not deleted", queue, len(answer["Failed"]))

    def depth(self, queue: str) -> int:
        """Messages waiting (visible or delayed): what an admin sees before a replay."""
        answer = self.client.get_queue_attributes(
            QueueUrl=self.url(queue),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )
        attributes = answer["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesDelayed"]
        )
