"""Import jobs started through the API: one item each, read by the status route and updated
by the worker as it goes (rows read, then the summary or the error)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.store import tables
from chalicelib.store.models import ImportJobModel

KEEP = timedelta(days=30)
"""How long a job's record (and its rejected rows) stays to be read."""
STATUSES = ("queued", "running", "done", "failed")
"""A job's statuses, in the order it goes through them."""


class ImportJobs:
    def create(self, job: dict[str, Any], now: datetime) -> None:
        ImportJobModel(
            **job, created_at=now, updated_at=now, expires_at=now + KEEP, status="queued"
        ).save(condition=ImportJobModel.id.does_not_exist())

    def get(self, job_id: str) -> dict[str, Any] | None:
        if not tables.can_be_key(job_id):
            return None
        try:
            item = ImportJobModel.get(job_id, consistent_read=True)
        except DoesNotExist:
            return None
        return _plain(item)

    def newest(
        self, limit: int, status: str | None = None, before: str | None = None
    ) -> list[dict[str, Any]]:
        """Up to `limit` jobs, newest first (ids are time-ordered), older than the job id
        `before` when given; without their rejected rows. One Query per status, read in the
        order a job goes through them, so a job that moves on meanwhile is read twice (its
        later state kept) rather than missed."""
        older = ImportJobModel.id < before if before else None
        found: dict[str, dict[str, Any]] = {}
        for wanted in (status,) if status else STATUSES:
            for item in ImportJobModel.by_status.query(
                wanted, older, scan_index_forward=False, limit=limit
            ):
                found[item.id] = _plain(item)
        return [found[i] for i in sorted(found, reverse=True)[:limit]]

    def update(self, job_id: str, now: datetime, **fields: Any) -> None:
        actions = [ImportJobModel.updated_at.set(now)]
        for name, value in fields.items():
            attribute = getattr(ImportJobModel, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        ImportJobModel(job_id).update(actions=actions)


def _plain(item: ImportJobModel) -> dict[str, Any]:
    return {
        name: tables.plain(value) if hasattr(value, "as_dict") else value
        for name, value in item.attribute_values.items()
    }
