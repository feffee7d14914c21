"""A person's rights: a request is recorded with its 30-day deadline; an export gives every
item stored about them; an erasure deletes them from every table and the outbox, keeps the
report counters, and keeps them from being created again without a new consent."""

from __future__ import annotations

import json
from datetime import timedelta

from chalicelib.cli import main
from chalicelib.store.models import (
    ContactKeyModel,
    EnrollmentModel,
    EventModel,
    SegmentMemberModel,
    SendHistoryModel,
    TimerModel,
)
from tests.builders import lead, post_json, track

ADA = "ada@example.com"


def _ask(client, key: str, **body):
    return client.http.post(
        "/privacy/requests",
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
        body=json.dumps(body),
    )


def test_an_export_gives_everything_stored_about_the_person(client, svc, clock, admin_key, ada):
    answer = _ask(client, admin_key, kind="export", email="Ada@Example.com", fulfil=True)

    assert answer.status_code == 201, answer.body
    request, tables = answer.json_body["request"], answer.json_body["data"]["tables"]
    assert request["status"] == "done" and request["contact_id"] == ada
    assert request["due_at"].startswith((clock.now() + timedelta(days=30)).date().isoformat())
    assert tables["contacts"][0]["email"] == ADA
    assert [k["key"] for k in tables["contact-keys"]] == [f"email:{ADA}"]
    assert {"form_submitted", "email_sent"} <= {e["type"] for e in tables["events"]}
    assert tables["enrollments"][0]["journey_id"] == "whitepaper"
    assert json.dumps(answer.json_body)  # plain JSON throughout
    assert request["result"]["items"]["events"] == len(tables["events"])


def test_an_erasure_deletes_the_person_everywhere_and_keeps_the_counts(
    client, svc, admin_key, ada, journeys
):
    before = client.http.get("/reports/overview", headers={"X-Api-Key": admin_key}).json_body
    assert svc.mailbox is not None and any(ADA in s.recipient for s in svc.mailbox.summaries())
    segments = list(svc.contacts.get(ada).get("segments") or ())

    answer = _ask(client, admin_key, kind="erasure", email=ADA, fulfil=True)

    assert answer.status_code == 201, answer.body
    deleted = answer.json_body["request"]["result"]["deleted"]
    assert deleted["contacts"] == 1 and deleted["events"] > 0 and deleted["outbox"] >= 1
    assert svc.contacts.get(ada) is None
    assert svc.contacts.find_by_key(f"email:{ADA}") is None
    for model in (EventModel, EnrollmentModel, TimerModel):
        assert list(model.query(ada)) == []
    assert list(SendHistoryModel.batch_get([ada])) == []
    assert all(
        list(SegmentMemberModel.query(s, SegmentMemberModel.contact_id == ada)) == []
        for s in segments
    )
    assert not any(ADA in s.recipient for s in svc.mailbox.summaries())
    assert ADA not in json.dumps([k.attribute_values for k in ContactKeyModel.scan()], default=str)
    after = client.http.get("/reports/overview", headers={"X-Api-Key": admin_key}).json_body
    assert after["kpis"] == before["kpis"]  # the counters are by day and campaign, not person

    again = client.http.post(
        f"/privacy/requests/{answer.json_body['request']['id']}/fulfil",
        headers={"X-Api-Key": admin_key},
    )
    assert again.status_code == 409


def test_an_erased_person_comes_back_only_with_a_new_consent(client, svc, admin_key, ada):
    assert _ask(client, admin_key, kind="erasure", email=ADA, fulfil=True).status_code == 201

    tracked = track(client, type="pricing_viewed", email=ADA)
    assert tracked.status_code == 422
    assert tracked.json_body["fields"][0]["field"] == "consent"
    assert svc.contacts.find_by_key(f"email:{ADA}") is None

    assert post_json(client, lead()).status_code == 201  # the form's consent box was ticked
    back = svc.contacts.find_by_key(f"email:{ADA}")
    assert back is not None and svc.contacts.get(back)["consents"]["marketing"]["granted"]
    assert track(client, type="pricing_viewed", email=ADA).status_code == 202


def test_a_request_is_due_in_thirty_days_and_shows_overdue(client, svc, clock, admin_key, capsys):
    made = _ask(client, admin_key, kind="export", email="nobody@example.com", note="by letter")
    assert made.status_code == 201
    request = made.json_body["request"]
    assert request["status"] == "open" and request["contact_id"] is None

    clock.advance(days=31)
    listed = client.http.get("/privacy/requests", headers={"X-Api-Key": admin_key}).json_body
    assert [(r["id"], r["overdue"]) for r in listed["requests"]] == [(request["id"], True)]
    assert main(["privacy", "list"]) == 0
    assert f"{request['id']}  export   open" in capsys.readouterr().out

    assert main(["privacy", "fulfil", request["id"]]) == 0
    assert "export done, exported nothing" in capsys.readouterr().out
    done = client.http.get(f"/privacy/requests/{request['id']}", headers={"X-Api-Key": admin_key})
    assert done.json_body["request"]["status"] == "done"
    assert done.json_body["request"]["overdue"] is False


def test_the_cli_erases_and_the_audit_log_keeps_no_address(svc, client, ada, admin_key, capsys):
    assert main(["privacy", "request", "erasure", "--email", ADA, "--fulfil"]) == 0
    assert "erasure done, deleted" in capsys.readouterr().out
    assert svc.contacts.get(ada) is None

    assert main(["audit", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["action"] for e in entries] == ["cli privacy request"]
    assert ADA not in json.dumps(entries)


def test_bad_requests_name_the_field(client, admin_key):
    assert (
        _ask(client, admin_key, kind="forget", email=ADA).json_body["fields"][0]["field"] == "kind"
    )
    assert _ask(client, admin_key, kind="export").json_body["fields"][0]["field"] == "email"
    bad = _ask(client, admin_key, kind="export", email="not-an-email")
    assert bad.status_code == 422 and bad.json_body["fields"][0]["field"] == "email"
    when = _ask(client, admin_key, kind="export", email=ADA, received_at="last week")
    assert when.json_body["fields"][0]["field"] == "received_at"
    future = _ask(
        client, admin_key, kind="export", email=ADA, received_at="9999-12-31T23:59:59+14:00"
    )
    assert future.status_code == 422 and future.json_body["fields"][0]["field"] == "received_at"


def test_an_import_brings_an_erased_person_back_only_when_the_row_grants_consent(
    client, svc, admin_key, ada, tmp_path
):
    import csv

    from chalicelib.services.importer import ImportOptions

    assert _ask(client, admin_key, kind="erasure", email=ADA, fulfil=True).status_code == 201
    path = tmp_path / "list.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["email", "consent"], [ADA, ""], ["grace@example.com", ""]])
    rejected = tmp_path / "rejected.csv"
    options = ImportOptions(consent_topics=("marketing",))

    dry = svc.importer.run(path, options, dry_run=True)
    summary = svc.importer.run(path, options, rejected=rejected)

    assert dry.counts == summary.counts
    assert (summary.counts["create"], summary.counts["rejected"]) == (1, 1)
    assert "erased at the person's request" in rejected.read_text(encoding="utf-8-sig")
    assert svc.contacts.find_by_key(f"email:{ADA}") is None

    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["email", "consent"], [ADA, "yes"]])
    assert svc.importer.run(path, options).counts["create"] == 1
    assert svc.contacts.find_by_key(f"email:{ADA}") is not None


def test_a_key_its_erased_owner_holds_again_refuses_no_one_else(client, svc, admin_key, tmp_path):
    """Grace is erased, then comes back by an import that grants consent, with her phone;
    the erasure marks stay. A colleague's row that shares her office phone is a new contact,
    as a form post would make it: the phone is Grace's again, not an erased person's."""
    import csv

    from chalicelib.services.importer import ImportOptions

    grace, phone = "grace@example.com", "020 7946 0018"
    options = ImportOptions(consent_topics=("marketing",), phone_region="GB")
    path = tmp_path / "list.csv"

    def rows(*body: list[str]) -> None:
        with path.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["email", "phone", "consent"], *body])

    rows([grace, phone, "yes"])
    assert dict(svc.importer.run(path, options).counts) == {"create": 1}
    assert _ask(client, admin_key, kind="erasure", email=grace, fulfil=True).status_code == 201
    assert dict(svc.importer.run(path, options).counts) == {"create": 1}  # back, by consent
    assert svc.privacy.requests.erased(["phone:+442079460018"]) == {"phone:+442079460018"}

    rows(["colleague@example.com", phone, ""])
    dry = svc.importer.run(path, options, dry_run=True)
    summary = svc.importer.run(path, options)

    assert dict(dry.counts) == dict(summary.counts) == {"create": 1}
    assert svc.contacts.find_by_email("colleague@example.com") is not None


def test_a_correction_sets_the_fields_at_once_and_the_request_keeps_only_their_names(
    client, svc, admin_key, ada
):
    answer = _ask(
        client,
        admin_key,
        kind="correction",
        email=ADA,
        fields={"company": "Analytical Engines Ltd", "last_name": None, "first_name": "Ada"},
    )

    assert answer.status_code == 201, answer.body
    request = answer.json_body["request"]
    assert (request["kind"], request["status"]) == ("correction", "done")
    assert request["result"] == {"corrected": ["company", "last_name"]}  # first_name was so
    properties = svc.contacts.get(ada)["properties"]
    assert properties["company"] == "Analytical Engines Ltd"
    assert "last_name" not in properties
    (updated,) = [e for e in EventModel.scan() if e.type == "contact_updated"]
    assert updated.properties.as_dict()["before"] == {
        "company": "Analytical Engines",
        "last_name": "Lovelace",
    }
    assert updated.properties.as_dict()["by"] == "privacy:correction"
    assert "Analytical Engines Ltd" not in json.dumps(svc.privacy.all())


def test_a_correction_needs_fields_and_only_a_correction_has_them(client, admin_key, ada):
    missing = _ask(client, admin_key, kind="correction", email=ADA)
    assert missing.status_code == 422 and missing.json_body["fields"][0]["field"] == "fields"
    bad = _ask(client, admin_key, kind="correction", email=ADA, fields={"Bad Name": 1})
    assert bad.status_code == 422 and bad.json_body["fields"][0]["field"].startswith("fields.")
    stray = _ask(client, admin_key, kind="export", email=ADA, fields={"company": "x"})
    assert stray.status_code == 422 and stray.json_body["fields"][0]["field"] == "fields"


def test_the_cli_corrects_and_the_audit_log_keeps_no_value(svc, ada, capsys):
    command = ["privacy", "request", "correction", "--email", ADA, "--set", "company=Babbage & Co"]
    assert main(command) == 0
    assert "correction done, corrected company" in capsys.readouterr().out
    assert svc.contacts.get(ada)["properties"]["company"] == "Babbage & Co"

    assert main(["audit", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["action"] for e in entries] == ["cli privacy request"]
    assert "Babbage" not in json.dumps(entries) and ADA not in json.dumps(entries)


def _every_table() -> dict[str, str]:
    """Each table's items, as one JSON text per table: a read of everything stored."""
    from chalicelib.store import tables
    from chalicelib.store.models import MODELS

    return {
        tables.base_name(model): json.dumps(
            [tables.json_ready(item.attribute_values) for item in model.scan()],
            ensure_ascii=False,
        )
        for model in MODELS
    }


def test_an_export_matches_a_read_of_every_table_and_an_erasure_leaves_no_trace(
    client, svc, admin_key, journeys
):
    phone, visitor = "+1 415 555 0134", "v_ada_0134"
    assert (
        track(client, type="page_viewed", visitor_id=visitor, page_url="https://x.io/a").status_code
        == 202
    )
    posted = post_json(client, lead(phone=phone, visitor_id=visitor, company="Difference Co"))
    assert posted.status_code == 201
    journeys.later(days=3)
    journeys.deliver()
    ada = svc.contacts.find_by_email(ADA)
    stored = _every_table()
    holding = {name for name, text in stored.items() if ada in text or ADA in text}

    exported = _ask(client, admin_key, kind="export", email=ADA, fulfil=True).json_body
    found = {name for name, items in exported["data"]["tables"].items() if items}
    # Everything that holds her id or address is exported, but for the log of who did what
    # and the request just made (which name her by id only), and report counters.
    assert holding - found <= {"audit", "privacy-requests"}
    assert found <= holding

    assert _ask(client, admin_key, kind="erasure", email=ADA, fulfil=True).status_code == 201
    after = _every_table()
    traces = {
        name: [
            mark
            for mark in (ADA, "415 555 0134", "4155550134", visitor, "Lovelace", "Difference Co")
            if mark in text
        ]
        for name, text in after.items()
    }
    assert {name: marks for name, marks in traces.items() if marks} == {}


def test_a_correction_of_too_many_fields_or_a_misspelt_kind_is_refused_by_name(
    client, admin_key, ada
):
    many = {f"g{n}": "x" for n in range(60)}
    answer = _ask(client, admin_key, kind="correction", email=ADA, fields=many)
    assert answer.status_code == 422 and answer.json_body["fields"][0]["field"] == "fields"
    misspelt = _ask(client, admin_key, kind="Correction", email=ADA, fields={"company": "x"})
    assert misspelt.status_code == 422
    assert misspelt.json_body["fields"][0]["field"] == "kind"
