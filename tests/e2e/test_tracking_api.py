"""Tracked events from websites: validation, identity and anonymous visitors."""

from __future__ import annotations

import json
from datetime import timedelta

from chalicelib.store.models import ContactModel
from tests.builders import all_events, track


def test_an_event_with_an_email_lands_on_that_contact(client, svc):
    response = track(
        client, type="file_downloaded", email="Ada@Example.com", properties={"file": "playbook.pdf"}
    )

    assert response.status_code == 202
    (contact,) = ContactModel.scan()
    assert contact.email == "ada@example.com"
    (event,) = all_events()
    assert (event.contact_id, event.type) == (contact.id, "file_downloaded")
    assert event.properties.as_dict()["file"] == "playbook.pdf"


def test_system_event_names_are_refused(client, svc):
    response = track(client, type="deal_won", email="ada@example.com")

    assert response.status_code == 422
    assert response.json_body["fields"][0]["field"] == "type"
    assert all_events() == []


def test_an_event_needs_someone_to_be_about(client, svc):
    response = track(client, type="page_viewed")

    assert response.status_code == 422
    assert response.json_body["fields"] == [
        {"field": "visitor_id", "message": "an email, a phone or a visitor_id is required"}
    ]


def test_a_client_event_id_makes_a_retry_harmless(client, svc):
    first = track(client, type="page_viewed", visitor_id="v_anon_0001", event_id="evt-1")
    retry = track(client, type="page_viewed", visitor_id="v_anon_0001", event_id="evt-1")

    assert (first.status_code, retry.status_code) == (202, 200)
    assert first.json_body["event_id"] == retry.json_body["event_id"]
    assert len(all_events()) == 1


def test_a_future_timestamp_is_refused(client, svc):
    response = track(
        client, type="page_viewed", visitor_id="v_anon_0001", occurred_at="2999-01-01T00:00:00Z"
    )

    assert response.status_code == 422
    assert response.json_body["fields"][0]["field"] == "occurred_at"


def test_sendbeacon_text_plain_json_is_accepted(client, svc):
    response = client.http.post(
        "/events",
        headers={"Content-Type": "text/plain"},
        body=json.dumps({"type": "page_viewed", "visitor_id": "v_beacon_01"}),
    )

    assert response.status_code == 202
    (event,) = all_events()
    assert event.contact_id == "visitor:v_beacon_01"


def test_admin_routes_need_a_valid_key(client, svc, admin_key):
    missing = client.http.get("/contacts?email=ada@example.com")
    wrong = client.http.get("/contacts?email=ada@example.com", headers={"X-Api-Key": "lf_x"})
    bad_query = client.http.get("/contacts?email=nope", headers={"X-Api-Key": admin_key})
    unknown = client.http.get("/contacts/ct_missing", headers={"X-Api-Key": admin_key})

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert bad_query.status_code == 422
    assert unknown.status_code == 404


def test_api_keys_are_stored_only_as_hashes(svc, admin_key):
    from chalicelib.store.models import ApiKeyModel

    (stored,) = ApiKeyModel.scan()

    assert admin_key not in json.dumps(stored.attribute_values, default=str)
    assert svc.api_keys.role_of(admin_key) == "admin"


def _event_nested(depth: int) -> str:
    """A page view whose properties are objects within objects, `depth` deep."""
    properties = '{"p": ' * depth + "1" + "}" * depth
    return '{"type": "page_viewed", "visitor_id": "v_nested_1", "properties": ' + properties + "}"


def test_properties_nested_deeper_than_dynamodb_allows_are_refused_by_name(client, svc):
    body = _event_nested(20)
    answer = client.http.post("/events", headers={"Content-Type": "application/json"}, body=body)

    assert answer.status_code == 422
    assert json.loads(answer.body)["fields"][0]["field"] == "properties"
    assert all_events() == []


def test_json_nested_past_the_parser_is_a_malformed_body_not_a_500(client, svc):
    body = _event_nested(5000)
    answer = client.http.post("/events", headers={"Content-Type": "application/json"}, body=body)

    assert answer.status_code == 400
    assert json.loads(answer.body)["error"] == "malformed_body"


def test_fields_of_the_wrong_type_or_empty_are_refused_by_name(client, svc):
    cases = {
        "event_id": {"event_id": {}},
        "properties": {"properties": None},
        "occurred_at": {"occurred_at": ""},
        "visitor_id": {"visitor_id": ""},
        "email": {"email": 42},
    }
    for field, extra in cases.items():
        body = {"type": "pricing_viewed", "email": "ada@example.com", **extra}
        answer = track(client, **body)

        assert answer.status_code == 422, (field, answer.body)
        assert field in {f["field"] for f in answer.json_body["fields"]}
    assert all_events() == []


def _track_from(client, origin: str | None, **body):
    headers = {"Content-Type": "application/json", **({"Origin": origin} if origin else {})}
    return client.http.post("/events", headers=headers, body=json.dumps(body))


def test_one_event_id_is_one_event_whatever_the_type_but_two_sites_may_share_it(client, svc, clock):
    at = (clock.now() - timedelta(hours=1)).isoformat()
    first = _track_from(
        client, None, type="pricing_viewed", email="ada@example.com", event_id="e-1", occurred_at=at
    )
    other_type = _track_from(
        client, None, type="demo_viewed", email="ada@example.com", event_id="e-1", occurred_at=at
    )
    other_site = _track_from(
        client,
        "https://shop.example.com",
        type="demo_viewed",
        email="ada@example.com",
        event_id="e-1",
        occurred_at=at,
    )
    bad_origin = _track_from(
        client, "http://[oops", type="pricing_viewed", email="ada@example.com", event_id="e-2"
    )

    assert (first.status_code, other_type.status_code) == (202, 422)
    assert (other_site.status_code, bad_origin.status_code) == (202, 202)
    assert len(all_events()) == 3


def test_an_anonymous_visitors_retry_is_one_event_even_a_minute_later(client, svc, clock):
    body = {"type": "pricing_viewed", "visitor_id": "v_anon_12345", "event_id": "e-anon"}
    first = _track_from(client, None, **body)
    clock.advance(minutes=1)
    retry = _track_from(client, None, **body)
    reused = _track_from(client, None, **{**body, "properties": {"plan": "pro"}})

    assert (first.status_code, retry.status_code, reused.status_code) == (202, 200, 422)
    assert retry.json_body["event_id"] == first.json_body["event_id"]
    assert reused.json_body["fields"][0]["field"] == "event_id"
    assert len(all_events()) == 1
