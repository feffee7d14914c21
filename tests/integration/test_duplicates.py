"""Duplicate candidates on a known data set, and merging through the API: each reason found,
nothing merged on its own, bad requests named, a merge that would run a journey twice."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from chalicelib.services.importer import ImportOptions
from tests.builders import lead, post_json

PEOPLE = [
    ["email", "phone", "name", "company"],
    ["li.lei@example.cn", "+8613800138000", "李雷", "北京星辰科技有限公司"],
    ["lilei@work.cn", "+8613800138000", "Li Lei", "Xingchen"],  # same phone
    ["lei.li@other.cn", "", "李雷", "北京星辰科技"],  # same name at the same company
    ["jane.doe+news@gmail.com", "", "Jane Doe", "Acme"],
    ["janedoe@googlemail.com", "", "J. Doe", "Acme Inc"],  # one Gmail inbox
    ["pаul@example.com", "", "Paul", "Zeta"],  # a Cyrillic а
    ["paul@example.com", "", "Paul S.", "Zeta GmbH"],
    ["alone@example.com", "", "Nobody Else", "Solo"],
]


def _import(svc, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "people.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(PEOPLE)
    svc.importer.run(path, ImportOptions())
    return {row[0]: svc.contacts.find_by_email(row[0]) for row in PEOPLE[1:]}


def test_each_kind_of_duplicate_is_a_candidate_and_nobody_is_merged(svc, tmp_path):
    ids = _import(svc, tmp_path)
    found = {
        (c.reason, frozenset(x["email"] for x in c.contacts)) for c in svc.duplicates.candidates()
    }
    assert found == {
        ("same phone", frozenset({"li.lei@example.cn", "lilei@work.cn"})),
        ("same name and company", frozenset({"li.lei@example.cn", "lei.li@other.cn"})),
        (
            "same mailbox (dots or +tag)",
            frozenset({"jane.doe+news@gmail.com", "janedoe@googlemail.com"}),
        ),
        ("look-alike email", frozenset({"pаul@example.com", "paul@example.com"})),
    }
    assert all(svc.contacts.get(c)["id"] == c for c in ids.values())


def test_merging_through_the_api(client, svc, admin_key, journeys, tmp_path):
    ids = _import(svc, tmp_path)
    headers = {"X-Api-Key": admin_key, "Content-Type": "application/json"}

    def post(body):
        return client.http.post("/contacts/merge", headers=headers, body=json.dumps(body))

    early = post({"survivor": ids["paul@example.com"], "merged": ids["pаul@example.com"]})
    assert early.status_code == 409 and "not processed yet" in early.json_body["message"]
    journeys.settle()

    bad = post({"survivor": "", "merged": 7, "locked": ["Not A Field"], "extra": 1})
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json_body["fields"]} == {"extra"}
    bad = post({"survivor": "", "merged": 7, "locked": ["Not A Field"]})
    assert {f["field"] for f in bad.json_body["fields"]} == {"survivor", "merged", "locked"}
    assert post({"survivor": ids["paul@example.com"], "merged": "ct_nobody"}).status_code == 404
    same = post({"survivor": ids["paul@example.com"], "merged": ids["paul@example.com"]})
    assert same.status_code == 409

    pair = {"survivor": ids["paul@example.com"], "merged": ids["pаul@example.com"]}
    typo = post({**pair, "locked": ["nmae"]})
    assert typo.status_code == 422 and "'nmae'" in typo.json_body["fields"][0]["message"]
    assert svc.contacts.get(ids["pаul@example.com"])["id"] == ids["pаul@example.com"]
    done = post({**pair, "locked": ["name"]})
    assert done.status_code == 200, done.body
    assert done.json_body["merged"] == ids["pаul@example.com"]
    survivor = svc.contacts.get(ids["paul@example.com"])
    assert survivor["properties"]["name"] == "Paul S."  # locked: the survivor's
    again = post({"survivor": ids["paul@example.com"], "merged": ids["pаul@example.com"]})
    assert again.status_code == 409
    view = client.http.get(f"/contacts/{ids['pаul@example.com']}", headers=headers)
    assert view.json_body["contact"]["id"] == ids["paul@example.com"]
    listed = client.http.get("/contacts?q=paul", headers=headers).json_body["contacts"]
    assert [c["id"] for c in listed] == [ids["paul@example.com"]]
    sales = svc.api_keys.create("rep", "sales", owner="rep-1")
    refused = client.http.post(
        "/contacts/merge",
        headers={**headers, "X-Api-Key": sales},
        body=json.dumps({"survivor": ids["li.lei@example.cn"], "merged": ids["lilei@work.cn"]}),
    )
    assert refused.status_code == 403
    duplicates = client.http.get("/contacts/duplicates?limit=5", headers=headers)
    assert duplicates.status_code == 422
    assert [f["field"] for f in duplicates.json_body["fields"]] == ["limit"]
    assert client.http.get("/contacts/duplicates", headers=headers).status_code == 200


def test_a_journey_both_were_in_runs_once_after_the_merge(client, svc, journeys):
    for email in ("ada@example.com", "ada.work@example.com"):
        assert post_json(client, lead(email=email)).status_code == 201
    journeys.settle()
    ada = svc.contacts.find_by_email("ada@example.com")
    work = svc.contacts.find_by_email("ada.work@example.com")
    assert {e.journey_id for e in svc.enrollments.for_contact(work) if not e.ended_at}

    report = svc.merger.merge(ada, work, by="test")

    assert report.enrollments_ended >= 1
    running = [e.journey_id for e in svc.enrollments.for_contact(ada) if not e.ended_at]
    assert len(running) == len(set(running))
    ended = [e for e in svc.enrollments.for_contact(ada) if e.end_reason == "merged"]
    assert ended and all(e.due_at is None for e in ended)
    journeys.later(days=10)
    steps = [step for step, _ in journeys.emails(ada)]
    assert steps.count("case-study") == 1
