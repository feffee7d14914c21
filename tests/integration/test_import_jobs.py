"""The import jobs' list index: a Query per status, filled in for jobs recorded before it
existed, and light (no job's rejected rows)."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.store import tables
from chalicelib.store.import_jobs import ImportJobs
from chalicelib.store.models import ImportJobModel
from tests.builders import without_indexes


def _job(job_id: str) -> dict:
    return {"id": job_id, "name": f"{job_id}.csv", "digest": "d", "size": 10, "by": "api:ops"}


def test_a_job_recorded_before_the_list_index_existed_is_listed_after_the_next_start(svc, clock):
    without_indexes(ImportJobModel)
    jobs = ImportJobs()
    jobs.create(_job("imp_01"), clock.now())
    jobs.create(_job("imp_02"), clock.now() + timedelta(minutes=1))

    tables.create_all()

    assert [job["id"] for job in jobs.newest(10)] == ["imp_02", "imp_01"]
    assert [job["id"] for job in jobs.newest(10, "queued", before="imp_02")] == ["imp_01"]
    tables.create_all()  # a second start changes nothing


def test_the_list_reads_a_job_without_its_rejected_rows(svc, clock):
    jobs = ImportJobs()
    jobs.create(_job("imp_01"), clock.now())
    jobs.update("imp_01", clock.now(), status="done", rejected="row,column,value,reason\r\n")

    (listed,) = jobs.newest(10, "done")

    assert "rejected" not in listed and "digest" not in listed
    assert {k: v for k, v in jobs.get("imp_01").items() if k in listed} == listed
