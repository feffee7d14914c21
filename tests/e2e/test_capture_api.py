"""Lead capture through the real HTTP handler, on the embedded AWS."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from chalicelib.store.models import ContactKeyModel, ContactModel, IdempotencyModel
from tests.builders import all_events, lead, post_json, track


def _contacts() -> list[ContactModel]:
    return list(ContactModel.scan())


def test_json_post_creates_one_contact_with_first_touch_and_timeline(client, svc, admin_key):
    response = post_json(client, lead(email=" Ada@Example.COM "))

    assert response.status_code == 201
    answer = response.json_body
    assert answer["status"] == "accepted"
    view = client.http.get("/contacts?email=ADA@example.com", headers={"X-Api-Key": admin_key})
    (found,) = view.json_body["contacts"]
    assert found["contact"]["email"] == "ada@example.com"
    assert found["contact"]["properties"]["company"] == "Analytical Engines"
    assert found["attribution"]["first_touch"]["source"] == "linkedin"
    assert found["attribution"]["first_touch"]["channel"] == "paid_social"
    assert [e["event_id"] for e in found["timeline"]] == [answer["submission_id"]]
    assert found["contact"]["consents"]["marketing"]["version"] == "2026-11"


def test_plain_html_form_post_redirects_to_the_thank_you_page(client, svc):
    body = urlencode(
        {"email": "bob@example.com", "first_name": "Bob", "company": "B Corp", "consent": "true"}
    )
    response = client.http.post(
        "/forms/whitepaper/submissions",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "https://leads.example.com/forms/whitepaper/thank-you"
    assert _contacts()[0].email == "bob@example.com"
    page = client.http.get("/forms/whitepaper/thank-you")
    assert "Your playbook is on its way" in page.body.decode()


def test_repeat_submission_keeps_first_touch_and_updates_profile(client, svc, clock):
    post_json(client, lead(utm_source="google", utm_medium="cpc"))
    clock.advance(days=3)
    post_json(
        client, lead(company="Difference Engines Ltd", utm_source="newsletter", utm_medium="email")
    )

    (contact,) = _contacts()
    assert contact.first_touch.as_dict()["source"] == "google"
    assert contact.last_touch.as_dict()["source"] == "newsletter"
    assert contact.properties.as_dict()["company"] == "Difference Engines Ltd"
    assert contact.submissions == 2
    assert len(all_events()) == 2


def test_second_writer_loses_its_conditional_write_and_joins_the_first_contact(svc, clock):
    from chalicelib.leads.capture import RequestMeta, capture, raw_fields
    from chalicelib.leads.form_language import Form
    from chalicelib.services.submissions import load_form, to_intake

    form: Form = load_form(svc.content, "whitepaper")
    first = capture(form, raw_fields(lead(company="First")), RequestMeta(), clock.now())
    second = capture(form, raw_fields(lead(company="Second")), RequestMeta(), clock.now())
    # Both writers planned a brand-new contact; the first commits, the second must lose.
    a = svc.contacts.record(to_intake(first, "/thanks"))
    b = svc.contacts.record(to_intake(second, "/thanks"))

    assert (a.created, b.created) == (True, False)
    assert a.contact_id == b.contact_id
    (contact,) = _contacts()
    assert contact.properties.as_dict()["company"] == "Second"
    assert {e.event_id for e in all_events()} == {first.event_id, second.event_id}


def test_retry_with_the_same_idempotency_key_returns_the_first_answer(client, svc):
    first = post_json(client, lead(), **{"Idempotency-Key": "abc-123"})
    retry = post_json(client, lead(), **{"Idempotency-Key": "abc-123"})

    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.json_body["submission_id"] == first.json_body["submission_id"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert len(all_events()) == 1
    assert len(list(IdempotencyModel.scan())) == 1


def test_an_idempotency_key_reused_with_another_body_is_a_422_naming_the_key(client, svc):
    first = post_json(client, lead(), **{"Idempotency-Key": "abc-123"})
    other = post_json(client, lead(email="grace@example.com"), **{"Idempotency-Key": "abc-123"})

    assert first.status_code == 201
    assert other.status_code == 422
    assert other.json_body["error"] == "idempotency_key_reused"
    assert other.json_body["fields"][0]["field"] == "Idempotency-Key"
    assert [c.email for c in _contacts()] == ["ada@example.com"]
    assert len(all_events()) == 1


def test_one_idempotency_key_on_two_forms_or_two_sites_records_both(client, svc):
    key = {"Idempotency-Key": "order-1"}
    a = post_json(client, lead(), **key, Origin="https://www.example.com")
    b = post_json(client, lead(email="bob@example.com"), **key, Origin="https://shop.example.com")
    c = post_json(client, {"email": "cy@example.com", "consent": True}, form="newsletter", **key)

    assert (a.status_code, b.status_code, c.status_code) == (201, 201, 201)
    assert len(all_events()) == 3


def test_an_event_id_reused_with_other_properties_is_refused(client, svc):
    first = track(client, type="pricing_viewed", email="ada@example.com", event_id="ev-1")
    same = track(client, type="pricing_viewed", email="ada@example.com", event_id="ev-1")
    other = track(
        client,
        type="pricing_viewed",
        email="ada@example.com",
        event_id="ev-1",
        properties={"plan": "pro"},
    )

    assert (first.status_code, same.status_code, other.status_code) == (202, 200, 422)
    assert other.json_body["error"] == "idempotency_key_reused"
    assert other.json_body["fields"][0]["field"] == "event_id"
    assert len(all_events()) == 1


def _nothing_stored() -> bool:
    return not _contacts() and not all_events() and not list(ContactKeyModel.scan())


def test_malformed_json_is_a_400_and_stores_nothing(client, svc):
    response = post_json(client, '{"email": "ada@example.com",')

    assert response.status_code == 400
    assert response.json_body["error"] == "malformed_body"
    assert "line 1" in response.json_body["message"]
    assert _nothing_stored()


def test_a_json_array_is_refused(client, svc):
    response = post_json(client, "[1, 2]")

    assert response.status_code == 400
    assert _nothing_stored()


def test_wrong_content_type_is_a_415(client, svc):
    response = client.http.post(
        "/forms/whitepaper/submissions", body="<lead/>", headers={"Content-Type": "application/xml"}
    )

    assert response.status_code == 415
    assert _nothing_stored()


def test_oversized_body_is_a_413(client, svc):
    response = post_json(client, lead(first_name="A" * (svc.settings.max_body_bytes + 1)))

    assert response.status_code == 413
    assert response.json_body["error"] == "payload_too_large"
    assert _nothing_stored()


def test_every_bad_field_is_named_at_once(client, svc):
    response = post_json(
        client, lead(email="not-an-email", first_name=None, consent=False, company_size="huge")
    )

    assert response.status_code == 422
    named = {f["field"]: f["message"] for f in response.json_body["fields"]}
    assert set(named) == {"email", "first_name", "consent", "company_size"}
    assert named["first_name"] == "is required"
    assert _nothing_stored()


def test_an_object_or_several_values_for_one_field_are_refused_by_name(client, svc):
    nested = post_json(
        client,
        lead(email="nope", company={"x": 1}, utm_source={"a": 1}, utm_term=[["t"]], meta={}),
    )
    assert nested.status_code == 422  # named with the other faults; `meta` is not read
    assert {f["field"] for f in nested.json_body["fields"]} == {
        "email",
        "company",
        "utm_source",
        "utm_term",
    }
    several = post_json(client, lead(first_name=["Ada", "Bob"]))
    assert several.status_code == 422
    assert several.json_body["fields"] == [
        {"field": "first_name", "message": "takes one value, not several"}
    ]
    assert _nothing_stored()
    repeats = [("first_name", "Ada"), ("consent", ""), ("consent", "true")]
    body = urlencode([*lead(first_name="Ada ", consent=None).items(), *repeats])
    repeated = client.http.post(  # a form repeating a name with one value, and a checkbox
        "/forms/whitepaper/submissions",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    assert repeated.status_code == 201, repeated.body
    one = post_json(
        client, lead(email="ada2@example.com", first_name=["Ada"], utm_campaign=["spring"])
    )
    assert one.status_code == 201
    contact = next(c for c in _contacts() if c.email == "ada2@example.com")
    assert contact.properties["first_name"] == "Ada"
    assert contact.first_touch["campaign"] == "spring"
    trapped = post_json(client, lead(email="bot@example.com", website={"x": 1}))
    assert trapped.status_code in (200, 201) and all(
        c.email != "bot@example.com" for c in _contacts()
    )


def test_script_tags_in_a_field_are_refused(client, svc):
    response = post_json(client, lead(first_name="<script>alert(1)</script>"))

    assert response.status_code == 422
    assert response.json_body["fields"] == [
        {"field": "first_name", "message": "must not contain HTML or script markup"}
    ]
    assert _nothing_stored()


def test_html_callers_get_a_readable_error_page(client, svc):
    body = urlencode({"email": "nope", "first_name": "Bob", "company": "B", "consent": "true"})
    response = client.http.post(
        "/forms/whitepaper/submissions",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 422
    assert "Please check the highlighted fields" in response.body.decode()
    assert _nothing_stored()


def _browser(client, body: dict, form: str = "whitepaper"):
    return client.http.post(
        f"/forms/{form}/submissions",
        body=urlencode(body, doseq=True),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ).body.decode()


def test_a_refused_browser_post_shows_the_form_again_with_what_was_typed(client, svc):
    page = _browser(
        client,
        {
            "email": "nope",
            "first_name": "Bob <b>",
            "company": "B Corp",
            "company_size": "51-200",
            "consent": "true",
            "utm_source": "google",
            "visitor_id": "v_12345678",
        },
    )

    assert re.search(r'<input id="f-email"[^>]*value="nope"[^>]*aria-invalid="true"', page, re.S)
    assert re.search(r'id="e-email">Work email: [^<]+<', page)
    assert 'value="Bob &lt;b&gt;"' in page  # kept, and escaped
    assert 'value="B Corp"' in page and "<option selected>51-200</option>" in page
    assert 'name="consent" value="true" checked required>' in page
    assert '<input type="hidden" name="utm_source" value="google">' in page
    assert 'id="lf-visitor" value="v_12345678"' in page


def test_a_chinese_form_says_what_is_wrong_in_chinese(client, svc):
    page = _browser(client, {"email": "", "phone": "123", "consent": "true"}, form="newsletter")

    assert "请检查标出的内容后重新提交" in page
    assert 'id="e-email">此项必填<' in page
    assert 'id="e-phone">手机号格式不正确<' in page


def test_the_honeypot_answers_success_and_stores_nothing(client, svc):
    response = post_json(client, lead(website="http://spam.example"))

    assert response.status_code == 201
    assert response.json_body["status"] == "accepted"
    assert _nothing_stored()


def test_unknown_form_is_a_404(client, svc):
    response = post_json(client, lead(), form="no-such-form")

    assert response.status_code == 404
    assert _nothing_stored()


def test_chinese_form_posts_as_urlencoded_utf8_and_normalises_a_mainland_mobile(client, svc):
    body = urlencode(
        {
            "email": "li.lei@example.cn",
            "phone": "138 0013 8000",
            "name": " 李雷 ",
            "province": "广东",
            "consent": "on",
        }
    )
    response = client.http.post(
        "/forms/newsletter/submissions",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )

    assert response.status_code == 303
    (contact,) = _contacts()
    assert contact.phone == "+8613800138000"
    assert contact.properties.as_dict() == {"name": "李雷", "province": "广东"}
    assert set(contact.consents.as_dict()) == {"marketing", "newsletter"}


def test_a_phone_first_contact_gains_its_email_instead_of_a_twin(client, svc):
    first = track(client, type="webinar_attended", phone="+86 138 0013 8000")
    assert first.status_code == 202
    assert _contacts()[0].email is None
    assert (
        post_json(
            client,
            {"phone": "13800138000", "email": "wang@example.cn", "consent": True},
            form="newsletter",
        ).status_code
        == 201
    )

    emails = [c.email for c in _contacts()]
    assert emails == ["wang@example.cn"]


def test_cors_preflight_allows_listed_origins_only(client, svc):
    allowed = client.http.options(
        "/forms/whitepaper/submissions", headers={"Origin": "https://www.example.com"}
    )
    refused = client.http.options(
        "/forms/whitepaper/submissions", headers={"Origin": "https://evil.example"}
    )
    posted = post_json(client, lead(), Origin="https://www.example.com")

    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert refused.status_code == 403
    assert posted.headers["Access-Control-Allow-Origin"] == "https://www.example.com"


def test_the_hosted_landing_page_renders_the_form(client, svc):
    page = client.http.get("/forms/whitepaper").body.decode()

    assert 'action="https://leads.example.com/forms/whitepaper/submissions"' in page
    assert 'name="website"' in page
    assert json.dumps("https://leads.example.com/events")[1:-1] in page
