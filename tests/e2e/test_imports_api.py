"""Imports through the API: upload, a job that the worker runs, its status and rejected rows;
bad uploads named; the jobs listed newest first, through the API and the CLI."""

from __future__ import annotations

import io
import json

from openpyxl import Workbook

from chalicelib.cli import main
from chalicelib.local import queue_driver
from chalicelib.messaging.queues import IMPORTS
from chalicelib.services import import_desk

CSV_GBK = (
    "邮箱,手机,姓名,公司\r\n"
    "li.lei@example.cn,13800138000,李雷,北京星辰科技\r\n"
    "bad@,13900139000,坏,某公司\r\n"
).encode("gbk")
GOOD = b"email\nada@example.com\n"
BIG5 = "郵箱,姓名\na@example.tw,陳大文\n".encode("big5")  # fails: its encoding must be named


def _reader(key: str) -> dict[str, str]:
    return {"X-Api-Key": key}


def _work(svc) -> None:
    while queue_driver.drain_once(
        svc.queues, IMPORTS, lambda batch: import_desk.handle_batch(batch, svc.imports)
    ):
        pass


def test_an_uploaded_csv_is_imported_by_the_worker_and_its_rejected_rows_kept(
    client, svc, admin_key
):
    headers = {"X-Api-Key": admin_key, "Content-Type": "text/csv"}
    answer = client.http.post(
        "/imports?phone_region=CN&lists=vip-list&tags=expo&name=expo.csv",
        headers=headers,
        body=CSV_GBK,
    )
    assert answer.status_code == 202, answer.body
    job = answer.json_body
    assert job["status"] == "queued" and answer.headers["Location"] == f"/imports/{job['id']}"
    assert job["finished_at"] is None
    _work(svc)
    done = client.http.get(f"/imports/{job['id']}", headers=_reader(admin_key)).json_body
    assert done.get("status") == "done", done
    assert done["summary"]["create"] == 1 and done["summary"]["rejected"] == 1
    assert done["summary"]["encoding"] == "gb18030" and done["rows_read"] == 2
    assert done["by"] == "api:test admin" and done["finished_at"] == done["updated_at"]
    li = svc.contacts.get(svc.contacts.find_by_email("li.lei@example.cn"))
    assert li["tags"] == {"expo"} and li["segments"] == {"vip-list"}
    rejected = client.http.get(f"/imports/{job['id']}/rejected", headers=_reader(admin_key))
    assert rejected.headers["Content-Type"].startswith("text/csv")
    lines = rejected.body.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,value,reason" and lines[1].startswith("3,邮箱,bad@,")


def test_an_uploaded_workbook_dry_run_writes_nothing(client, svc, admin_key):
    book = Workbook()
    book.active.append(["Email", "Name"])
    book.active.append(["ada@example.com", "Ada"])
    data = io.BytesIO()
    book.save(data)
    headers = {
        "X-Api-Key": admin_key,
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    job = client.http.post("/imports?dry_run=true", headers=headers, body=data.getvalue())
    assert job.status_code == 202
    _work(svc)
    done = client.http.get(f"/imports/{job.json_body['id']}", headers=_reader(admin_key)).json_body
    assert done["status"] == "done" and done["summary"]["create"] == 1
    assert done["summary"]["format"] == "xlsx" and done["dry_run"] is True
    assert svc.contacts.find_by_email("ada@example.com") is None


def test_bad_uploads_are_named_and_a_file_that_cannot_be_read_fails_its_job(client, svc, admin_key):
    headers = {"X-Api-Key": admin_key, "Content-Type": "text/csv"}
    bad = client.http.post(
        "/imports?on_existing=merge&lists=nobody&colour=red&phone_region=XX",
        headers=headers,
        body=b"email\na@example.com\n",
    )
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json_body["fields"]} == {
        "on_existing",
        "lists",
        "colour",
        "phone_region",
    }
    for encoding in ("nope", "big5%00"):  # Python's codec lookup raises on a NUL
        named = client.http.post(
            f"/imports?encoding={encoding}", headers=headers, body=b"email\na@example.com\n"
        )
        assert named.status_code == 422
        assert [f["field"] for f in named.json_body["fields"]] == ["encoding"]
    empty = client.http.post("/imports", headers=headers, body=b"")
    assert empty.status_code == 422
    wrong = client.http.post(
        "/imports", headers={**headers, "Content-Type": "image/png"}, body=b"x"
    )
    assert wrong.status_code == 415
    sales = svc.api_keys.create("rep", "sales", owner="rep-1")
    refused = client.http.post(
        "/imports", headers={**headers, "X-Api-Key": sales}, body=b"email\na@b.co\n"
    )
    assert refused.status_code == 403
    job = client.http.post("/imports", headers=headers, body=BIG5).json_body
    _work(svc)
    failed = client.http.get(f"/imports/{job['id']}", headers=_reader(admin_key)).json_body
    assert failed["status"] == "failed" and "--encoding" in failed["error"]
    missing = client.http.get("/imports/imp_nothing", headers=_reader(admin_key))
    assert missing.status_code == 404
    assert json.loads(missing.body)["error"]


def _upload(client, key: str, name: str, data: bytes = GOOD) -> str:
    headers = {"X-Api-Key": key, "Content-Type": "text/csv"}
    answer = client.http.post(f"/imports?name={name}", headers=headers, body=data)
    assert answer.status_code == 202, answer.body
    return answer.json_body["id"]


def _listed(client, key: str, query: str = "") -> dict:
    answer = client.http.get(f"/imports{query}", headers=_reader(key))
    assert answer.status_code == 200, answer.body
    return answer.json_body


def test_the_job_list_pages_newest_first_and_filters_by_status(client, svc, clock, admin_key):
    for name, data in (("a.csv", GOOD), ("b.csv", GOOD), ("c.csv", BIG5)):
        _upload(client, admin_key, name, data)
        clock.advance(minutes=5)
    _work(svc)
    clock.advance(days=1)
    _upload(client, admin_key, "d.csv")
    _upload(client, admin_key, "e.csv")

    pages, query = [], "?limit=2"
    while True:
        page = _listed(client, admin_key, query)
        pages.append([job["file"] for job in page["imports"]])
        if page["next"] is None:
            break
        query = f"?limit=2&after={page['next']}"
    assert pages == [["e.csv", "d.csv"], ["c.csv", "b.csv"], ["a.csv"]]

    by_status = {
        status: [job["file"] for job in _listed(client, admin_key, f"?status={status}")["imports"]]
        for status in ("queued", "running", "done", "failed")
    }
    assert by_status == {
        "queued": ["e.csv", "d.csv"],
        "running": [],
        "done": ["b.csv", "a.csv"],
        "failed": ["c.csv"],
    }


def test_a_listed_job_is_what_its_status_route_shows_with_who_started_it_and_when_it_ended(
    client, svc, clock, admin_key
):
    done = _upload(client, admin_key, "expo.csv")
    _work(svc)
    clock.advance(hours=1)
    queued = _upload(client, admin_key, "later.csv")

    listed = {job["id"]: job for job in _listed(client, admin_key)["imports"]}

    for job_id in (done, queued):
        shown = client.http.get(f"/imports/{job_id}", headers=_reader(admin_key)).json_body
        assert listed[job_id] == shown
    assert listed[done]["by"] == "api:test admin" and listed[done]["summary"]["create"] == 1
    assert listed[done]["finished_at"] == listed[done]["updated_at"]
    assert listed[queued]["finished_at"] is None and listed[queued]["status"] == "queued"


def test_bad_list_parameters_are_each_named(client, admin_key):
    answer = client.http.get(
        "/imports?limit=0&after=imp_nope&status=finished&colour=red", headers=_reader(admin_key)
    )

    assert answer.status_code == 422
    assert {f["field"] for f in answer.json_body["fields"]} == {
        "limit",
        "after",
        "status",
        "colour",
    }
    for query, field in (("?limit=501", "limit"), ("?limit=ten", "limit"), ("?after=", "after")):
        refused = client.http.get(f"/imports{query}", headers=_reader(admin_key))
        assert refused.status_code == 422, query
        assert [f["field"] for f in refused.json_body["fields"]] == [field]


def test_only_keys_that_manage_contacts_list_the_imports(client, svc, admin_key):
    _upload(client, admin_key, "expo.csv")
    allowed = {
        role: client.http.get("/imports", headers=_reader(svc.api_keys.create(role, role)))
        for role in ("marketer", "viewer")
    }
    sales = svc.api_keys.create("rep", "sales", owner="rep-1")

    assert allowed["marketer"].status_code == 200
    assert [job["file"] for job in allowed["marketer"].json_body["imports"]] == ["expo.csv"]
    assert allowed["viewer"].status_code == 403
    assert client.http.get("/imports", headers=_reader(sales)).status_code == 403
    assert client.http.get("/imports").status_code == 401


def test_the_cli_lists_the_jobs_a_page_at_a_time(client, svc, clock, admin_key, capsys):
    first = _upload(client, admin_key, "expo.csv")
    _work(svc)
    clock.advance(minutes=10)
    second = _upload(client, admin_key, "later.csv")
    capsys.readouterr()

    assert main(["imports", "list", "--limit", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{second}  2026-01-05 09:10  queued   later.csv  0 row(s) read so far  by api:test admin",
        f"1 import(s); more: --after {second}",
    ]
    assert main(["imports", "list", "--after", second]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{first}  2026-01-05 09:00  done     expo.csv  1 row(s): 1 create, 0 update, "
        "0 unchanged, 0 skipped, 0 rejected  by api:test admin",
        "1 import(s)",
    ]
    assert main(["imports", "list", "--after", "not-a-cursor"]) == 1
    assert "--after" in capsys.readouterr().err
