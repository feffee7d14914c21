"""The broadcasts admin API: admins preview, schedule and cancel; viewers read; bad input names
its field; a started broadcast cannot be scheduled again."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.builders import lead, post_json

SAMPLE = "webinar-invite"  # marketing/broadcasts/webinar-invite.yaml


def _call(client, method: str, path: str, key: str, body: object | None = None):
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    send = getattr(client.http, method)
    if body is None:
        return send(path, headers=headers)
    return send(path, headers=headers, body=json.dumps(body))


def test_an_admin_previews_schedules_and_reads_the_run(client, svc, journeys, admin_key):
    for name in ("ada", "bob"):
        assert post_json(client, lead(email=f"{name}@example.com")).status_code == 201
    journeys.settle()

    listed = json.loads(_call(client, "get", "/broadcasts", admin_key).body)
    preview = json.loads(_call(client, "get", f"/broadcasts/{SAMPLE}/preview", admin_key).body)
    scheduled = _call(client, "post", f"/broadcasts/{SAMPLE}/schedule", admin_key)

    assert [(b["id"], b["status"]) for b in listed["broadcasts"]] == [(SAMPLE, "draft")]
    assert preview["audience"] == 2 and sum(preview["sends"].values()) == 2
    assert scheduled.status_code == 200
    run = json.loads(scheduled.body)
    assert run["status"] == "scheduled" and run["send_at"] == "2026-12-08T10:00:00"
    assert run["starts_at"] == "2026-12-08T09:00:00+00:00"  # 10:00 in Berlin

    journeys.at(datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
    journeys.deliver()  # the test share now; the rest when the winner is known
    journeys.settle()
    again = _call(client, "post", f"/broadcasts/{SAMPLE}/schedule", admin_key)
    status = json.loads(_call(client, "get", f"/broadcasts/{SAMPLE}", admin_key).body)

    assert again.status_code == 409 and "already started" in json.loads(again.body)["message"]
    assert status["status"] == "sending" and status["planned"] == 2
    tested = sum(n for variant, n in preview["sends"].items() if variant != "winner")
    assert sum(v["sent"] for v in status["variants"].values()) == tested
    assert preview["untested"] == (None if tested else "date")  # the first variant listed


def test_viewers_read_but_do_not_send_and_bad_input_names_the_field(client, svc, admin_key):
    viewer = svc.api_keys.create("reports", "viewer")

    read = _call(client, "get", f"/broadcasts/{SAMPLE}", viewer)
    refused = _call(client, "post", f"/broadcasts/{SAMPLE}/schedule", viewer)
    past = _call(
        client, "post", f"/broadcasts/{SAMPLE}/schedule", admin_key, {"at": "2020-01-01T09:00"}
    )
    garbled = _call(client, "post", f"/broadcasts/{SAMPLE}/schedule", admin_key, {"at": "soon"})
    typo = _call(client, "post", f"/broadcasts/{SAMPLE}/schedule", admin_key, {"when": "now"})
    far = _call(
        client,
        "post",
        f"/broadcasts/{SAMPLE}/schedule",
        admin_key,
        {"at": "9999-12-31T23:00-05:00"},
    )
    long_id = _call(client, "post", f"/broadcasts/{'x' * 3000}/cancel", admin_key)
    unknown = _call(client, "get", "/broadcasts/no-such-thing", admin_key)
    never = _call(client, "post", f"/broadcasts/{SAMPLE}/cancel", admin_key)

    assert read.status_code == 200 and json.loads(read.body)["status"] == "draft"
    assert refused.status_code == 403
    for answer in (past, garbled, typo):
        assert answer.status_code == 422
    assert json.loads(past.body)["fields"][0]["field"] == "at"
    assert "has passed" in json.loads(past.body)["fields"][0]["message"]
    assert json.loads(garbled.body)["fields"][0]["field"] == "at"
    assert json.loads(typo.body)["fields"][0]["field"] == "when"
    assert far.status_code == 422 and json.loads(far.body)["fields"][0]["field"] == "at"
    assert long_id.status_code == 404
    assert unknown.status_code == 404 and SAMPLE in json.loads(unknown.body)["message"]
    assert never.status_code == 404


NEWSLETTER = {
    "name": "December news",
    "audience": {"segment": "subscribers"},
    "email": {"template": "webinar-invite", "subject": "December at Leadflow"},
    "send_at": "2026-12-08T10:00",
    "timezone": "Europe/Berlin",
}


def test_a_broadcast_made_through_the_api_is_checked_versioned_and_scheduled(
    client, svc, journeys, admin_key
):
    assert post_json(client, lead(email="ada@example.com")).status_code == 201
    journeys.settle()

    made = _call(client, "put", "/broadcasts/december-news", admin_key, NEWSLETTER)
    same = _call(client, "put", "/broadcasts/december-news", admin_key, NEWSLETTER)
    typo = _call(
        client,
        "put",
        "/broadcasts/december-news",
        admin_key,
        {**NEWSLETTER, "audience": {"segment": "subscriber"}, "sendat": "x"},
    )
    file = _call(client, "put", f"/broadcasts/{SAMPLE}", admin_key, NEWSLETTER)
    scheduled = _call(client, "post", "/broadcasts/december-news/schedule", admin_key)
    listed = json.loads(_call(client, "get", "/broadcasts", admin_key).body)["broadcasts"]

    assert made.status_code == 200 and json.loads(made.body) == {
        "id": "december-news",
        "version": 1,
        "changed": True,
    }
    assert json.loads(same.body)["changed"] is False
    assert typo.status_code == 422
    assert {f["field"] for f in json.loads(typo.body)["fields"]} == {"sendat"}
    wrong_segment = dict(NEWSLETTER, audience={"segment": "subscriber"})
    unknown = _call(client, "put", "/broadcasts/december-news", admin_key, wrong_segment)
    assert json.loads(unknown.body)["fields"] == [
        {"field": "audience.segment", "message": "there is no segment 'subscriber'"}
    ]
    assert file.status_code == 409
    assert scheduled.status_code == 200 and json.loads(scheduled.body)["status"] == "scheduled"
    assert {b["id"] for b in listed} == {SAMPLE, "december-news"}


def test_a_broadcast_that_could_only_fail_at_send_time_is_refused_up_front(client, admin_key):
    injected = {
        **NEWSLETTER,
        "email": {
            "template": "webinar-invite",
            "subject": "Hi\r\nBcc: everyone@example.com",
            "from": "Leadflow <hello@example.com>\nBcc: everyone@example.com",
        },
    }
    broken = {**NEWSLETTER, "email": {"template": "webinar-invite", "subject": "{{ contact."}}

    refused = _call(client, "put", "/broadcasts/december-news", admin_key, injected)
    unparsable = _call(client, "put", "/broadcasts/december-news", admin_key, broken)

    assert refused.status_code == 422
    assert {f["field"] for f in json.loads(refused.body)["fields"]} == {
        "email.subject",
        "email.from",
    }
    assert unparsable.status_code == 422
    [problem] = json.loads(unparsable.body)["fields"]
    assert problem["field"] == "email.subject" and "template syntax" in problem["message"]
