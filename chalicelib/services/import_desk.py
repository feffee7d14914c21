"""Imports through the API: upload a file, get a job, read its status and rejected rows.

The upload is kept like a published file (in parts, by its SHA-256) and a message on the
imports queue starts the worker, which runs the same importer as `leadflow import`. The
importer's checkpoint makes the worker safe to stop anywhere: a Lambda that runs out of time
leaves its message to come back, and the next run resumes after the last committed row.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from chalicelib import ids
from chalicelib.clock import Clock
from chalicelib.contacts.columns import MappingError
from chalicelib.contacts.encoding import EncodingError
from chalicelib.contacts.sheet import SheetError
from chalicelib.errors import NotFound
from chalicelib.messaging.queues import IMPORTS, Queues
from chalicelib.services.importer import Importer, ImportOptions
from chalicelib.store.content import ContentStore
from chalicelib.store.import_jobs import ImportJobs

MAX_BYTES = 5 * 1024 * 1024
"""An upload through the API (Lambda's request limit is 6 MB); larger files: the CLI."""
REJECTED_KEPT = 200_000
"""Bytes of the rejected-rows CSV kept on the job (the first rows, whole): with the rest of
the job's item, within DynamoDB's 400 KB."""
LAST_ATTEMPT = 5
"""The receive after which the queue dead-letters a message (infra's DEAD_LETTER_AFTER)."""
PROGRESS_SECONDS = 2.0


class ImportDesk:
    def __init__(
        self,
        files: ContentStore,
        jobs: ImportJobs,
        importer: Importer,
        queues: Queues,
        clock: Clock,
    ) -> None:
        self.files = files
        self.jobs = jobs
        self.importer = importer
        self.queues = queues
        self.clock = clock

    def submit(
        self, data: bytes, name: str, options: ImportOptions, dry_run: bool, by: str
    ) -> dict[str, Any]:
        """Keep the file, record the job and queue it; the job as the status route shows it."""
        now = self.clock.now()
        job_id = "imp_" + ids.event_id(now).lower()
        # Keyed by the job as well as the bytes: the same file uploaded twice is two jobs,
        # and one's end must not delete the other's file.
        digest = hashlib.sha256(job_id.encode() + data).hexdigest()
        self.files.store_bytes(digest, data)
        self.jobs.create(
            {
                "id": job_id,
                "name": name,
                "digest": digest,
                "size": len(data),
                "options": options.as_dict(),
                "dry_run": dry_run,
                "by": by,
            },
            now,
        )
        self.queues.send(IMPORTS, {"job": job_id})
        return self.status(job_id)

    def status(self, job_id: str) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"no import {job_id!r}")
        return _view(job)

    def newest(
        self, limit: int, status: str | None = None, after: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of jobs as the status route shows them, newest first, and the cursor of the
        next page (the last job's id), None at the end."""
        found = self.jobs.newest(limit + 1, status, after)
        page = [_view(job) for job in found[:limit]]
        return page, page[-1]["id"] if len(found) > limit else None

    def rejected(self, job_id: str) -> str:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"no import {job_id!r}")
        return job.get("rejected") or "row,column,value,reason\r\n"

    def run(self, job_id: str, last_attempt: bool = False) -> None:
        """The worker: import the job's file (again from its checkpoint, if it was cut off).
        An unexpected error is raised, so the message comes back and the import resumes;
        on the queue's last attempt the job is marked failed instead."""
        job = self.jobs.get(job_id)
        if job is None or job["status"] in ("done", "failed"):
            return
        self.jobs.update(job_id, self.clock.now(), status="running")
        try:
            self._import(job)
        except (EncodingError, SheetError, MappingError) as exc:
            self._end(job, status="failed", error=str(exc))
        except Exception as exc:
            if not last_attempt:
                raise
            self._end(job, status="failed", error=f"stopped after repeated errors: {exc}")

    def _import(self, job: dict[str, Any]) -> None:
        last = [time.monotonic()]

        def progress(row: int) -> None:
            if time.monotonic() - last[0] >= PROGRESS_SECONDS:
                last[0] = time.monotonic()
                self.jobs.update(job["id"], self.clock.now(), rows_read=row)

        with tempfile.TemporaryDirectory(prefix="leadflow-import-") as folder:
            path = Path(folder) / ("upload" + Path(job["name"]).suffix[:10])
            path.write_bytes(self.files.read_bytes(job["digest"], verify=False))
            rejected = Path(folder) / "rejected.csv"
            summary = self.importer.run(
                path,
                ImportOptions.of(job.get("options") or {}),
                dry_run=bool(job.get("dry_run")),
                rejected=rejected,
                progress=progress,
                job=job["id"],
                finish=False,
                name=job["name"],
            )
            kept = rejected.read_text(encoding="utf-8-sig") if rejected.exists() else None
        body = {**summary.as_dict(), "rejected_file": None}
        self._end(job, status="done", summary=body, rows_read=body["rows"], rejected=_cut(kept))

    def _end(self, job: dict[str, Any], **fields: Any) -> None:
        """Record how the job ended, then let go of its checkpoint and the uploaded file."""
        self.jobs.update(job["id"], self.clock.now(), **fields)
        self.importer.finish_job(job["id"])
        self.files.forget_bytes(job["digest"])


def _view(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the API shows it; `finished_at` is when it ended (nothing updates it after)."""
    ended = job["status"] in ("done", "failed")
    return {
        "id": job["id"],
        "status": job["status"],
        "file": job["name"],
        "size": int(job["size"]),
        "dry_run": bool(job.get("dry_run")),
        "options": job.get("options") or {},
        "rows_read": int(job.get("rows_read") or 0),
        "summary": job.get("summary"),
        "error": job.get("error"),
        "by": job.get("by"),
        "created_at": job["created_at"].isoformat(),
        "updated_at": job["updated_at"].isoformat(),
        "finished_at": job["updated_at"].isoformat() if ended else None,
    }


def _cut(text: str | None) -> str | None:
    """The first whole rows of the rejected-rows CSV that fit in REJECTED_KEPT bytes."""
    if text is None or len(text.encode()) <= REJECTED_KEPT:
        return text
    data = text.encode()[:REJECTED_KEPT].decode(errors="ignore")
    return data[: data.rfind("\n") + 1]


def handle_batch(records: list[dict[str, Any]], desk: ImportDesk) -> dict[str, Any]:
    """Fed by the imports queue: one message, one job. An exception (the store away, the
    Lambda's time up) leaves the message to come back and the job resumes where it stopped;
    the queue's last attempt marks the job failed instead of leaving it running."""
    for record in records:
        attempts = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        desk.run(json.loads(record["body"])["job"], last_attempt=attempts >= LAST_ATTEMPT)
    return {"batchItemFailures": []}
