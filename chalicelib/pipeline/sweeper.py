"""The sweeper: finds events the stream consumer left pending (it crashed, or gave up)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.pipeline.processor import Disposition, Processor

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    processed: int = 0
    skipped: int = 0
    failed: int = 0


def sweep(processor: Processor, grace: timedelta, limit_per_shard: int = 500) -> SweepReport:
    """Process pending events older than `grace`, oldest first, from the sparse index only."""
    report = SweepReport()
    before = processor.clock.now() - grace
    for shard in processor.events.all_shards():
        blocked: set[str] = set()
        for item in processor.events.pending_before(shard, before, limit_per_shard):
            if item.contact_id in blocked:
                continue
            try:
                outcome = processor.process(item)
            except Exception as exc:
                processor.fail(item, exc)
                blocked.add(item.contact_id)
                report.failed += 1
                continue
            if outcome is Disposition.PROCESSED:
                report.processed += 1
            else:
                report.skipped += 1
    if report.processed or report.failed:
        log.info("sweep: %s", report)
    return report
