"""The fan-out worker's Lambda adapter: a tick's messages in, partial batch failures out."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.services.journey_runner import JourneyRunner
from chalicelib.store.outage import is_outage

log = logging.getLogger(__name__)


def handle_batch(records: Iterable[Mapping[str, Any]], runner: JourneyRunner) -> dict[str, Any]:
    """Advance each message's enrollments; report failed messages so only they come back."""
    failures = []
    for record in records:
        try:
            report = runner.advance_refs(json.loads(record["body"])["enrollments"])
        except Exception as exc:
            if is_outage(exc):
                raise  # the store is away: the whole batch comes back, nothing is lost
            log.exception("fan-out message %s failed", record.get("messageId"))
            failures.append({"itemIdentifier": record.get("messageId")})
            continue
        if report.failed:
            failures.append({"itemIdentifier": record.get("messageId")})
    return {"batchItemFailures": failures}
