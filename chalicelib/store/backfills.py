"""Where a segment backfill got to, so that an interrupted one resumes there instead of
starting over; and when each segment was last computed in full.

A backfill job is named by the segment versions it computes. Its checkpoint (the last
contact done, and how many) is saved every page; publishing a new version starts a new job.
Finishing deletes the checkpoint and stamps each segment's size item with the time.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib.store import tables
from chalicelib.store.models import CounterModel
from chalicelib.store.segments import size_key


def job_key(job: str) -> str:
    return f"backfill#{job}"


class Backfills:
    def resume_point(self, job: str) -> tuple[str | None, int]:
        """The last contact an interrupted run of this job finished, and how many it did."""
        try:
            item = CounterModel.get(job_key(job), consistent_read=True)
        except DoesNotExist:
            return None, 0
        return item.cursor, int(item.value or 0)

    def save(self, job: str, cursor: str, done: int, now: datetime) -> None:
        CounterModel(job_key(job), value=done, cursor=cursor, at=now).save()

    def finish(self, job: str, segment_ids: list[str], now: datetime) -> None:
        for segment_id in segment_ids:
            CounterModel(size_key(segment_id)).update(actions=[CounterModel.at.set(now)])
        CounterModel(job_key(job)).delete()

    def computed_at(self, segment_ids: list[str]) -> dict[str, datetime]:
        """When each segment was last computed in full (its backfill finished)."""
        keys = sorted({size_key(s) for s in segment_ids if tables.can_be_key(size_key(s))})
        found = CounterModel.batch_get(keys, attributes_to_get=["key", "at"])
        return {item.key.removeprefix("segment:"): item.at for item in found if item.at}
