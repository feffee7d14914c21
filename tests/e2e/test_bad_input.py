"""Input Leadflow cannot store or show is refused where it is parsed: a 4xx that names the
field, never a 500, and nothing stored. Runs every public route over HTTP on the embedded AWS."""

from __future__ import annotations

import base64
import html
import json
import re
from urllib.parse import quote, urlencode

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from chalicelib.api import email as email_routes
from chalicelib.messaging import sns
from chalicelib.store.models import ContactKeyModel, ContactModel
from tests.builders import all_events, lead, post_json, track
from tests.integration.test_email_delivery import TOPIC, _bounce, _signed_notification, sns_key
from tests.integration.test_local_engine import _store_down

__all__ = ["sns_key"]  # the SNS signing-key fixture, which pytest finds by name here

# One of each kind of character that is not storable text: NUL, a bell, an escape, DEL, a C1
# control (NEL), and both halves of a surrogate pair standing alone.
NOT_TEXT = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\ud800", "\udfff"]
NOT_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "1e200", "1e-200", "9" * 45]


def _nothing_stored() -> bool:
    return not list(ContactModel.scan()) and not all_events() and not list(ContactKeyModel.scan())


def _json(body: dict) -> str:
    """JSON as a client may send it: lone surrogates travel as `\\ud800` escapes."""
    return json.dumps(body)


def _fields(answer) -> dict[str, str]:
    assert answer.status_code == 422, answer.body
    return {f["field"]: f["message"] for f in json.loads(answer.body)["fields"]}


@pytest.mark.parametrize("char", NOT_TEXT, ids=lambda c: f"U+{ord(c):04X}")
def test_a_form_field_that_is_not_text_is_refused_naming_the_field(client, svc, char):
    answer = post_json(client, _json(lead(first_name=f"Ada{char}")))

    assert list(_fields(answer)) == ["first_name"]
    assert _nothing_stored()


@pytest.mark.parametrize("char", NOT_TEXT[:5], ids=lambda c: f"U+{ord(c):04X}")
def test_a_control_character_in_a_urlencoded_form_is_refused_naming_the_field(client, svc, char):
    body = "&".join(f"{k}={quote(str(v))}" for k, v in lead(company=f"Acme{char}").items())
    answer = client.http.post(
        "/forms/whitepaper/submissions",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        body=body,
    )

    assert list(_fields(answer)) == ["company"]
    assert _nothing_stored()


def test_a_browser_posting_a_control_character_gets_the_error_page_naming_the_field(client, svc):
    body = "&".join(f"{k}={quote(str(v))}" for k, v in lead(last_name="Love\x00lace").items())
    answer = client.http.post(
        "/forms/whitepaper/submissions",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=body,
    )

    assert answer.status_code == 422
    assert "last_name" in answer.body.decode()
    assert _nothing_stored()


def test_tabs_and_line_breaks_are_text_and_a_name_keeps_them_as_one_space(client, svc):
    answer = post_json(client, lead(first_name="Ada\tAugusta\r\nKing"))

    assert answer.status_code == 201, answer.body
    (contact,) = ContactModel.scan()
    assert contact.properties.as_dict()["first_name"] == "Ada Augusta King"


@pytest.mark.parametrize("char", NOT_TEXT, ids=lambda c: f"U+{ord(c):04X}")
def test_an_event_property_that_is_not_text_is_refused_naming_the_property(client, svc, char):
    value = track(client, type="page_viewed", email="ada@example.com", properties={"p": char})
    name = track(client, type="page_viewed", email="ada@example.com", properties={f"a{char}": 1})
    listed = track(
        client, type="page_viewed", email="ada@example.com", properties={"l": ["", char]}
    )

    assert list(_fields(value)) == ["properties.p"]
    assert list(_fields(name)) == [f"properties.a\\u{ord(char):04x}"]
    assert list(_fields(listed)) == ["properties.l[1]"]
    assert _nothing_stored()


@pytest.mark.parametrize("number", NOT_NUMBERS)
def test_an_event_property_that_is_not_a_storable_number_is_refused_naming_it(client, svc, number):
    body = '{"type": "page_viewed", "email": "ada@example.com", "properties": {"n": %s}}'
    answer = client.http.post(
        "/events", headers={"Content-Type": "application/json"}, body=body % number
    )

    assert list(_fields(answer)) == ["properties.n"]
    assert _nothing_stored()


def test_numbers_dynamodb_stores_are_accepted(client, svc):
    body = '{"type": "page_viewed", "email": "ada@example.com", "properties": {"n": [%s]}}'
    edges = ", ".join(["0", "-0.0", "1e-130", "9.99e125", "-" + "9" * 38])
    answer = client.http.post(
        "/events", headers={"Content-Type": "application/json"}, body=body % edges
    )

    assert answer.status_code == 202, answer.body
    (event,) = all_events()
    assert len(event.properties.as_dict()["n"]) == 5


def test_a_sales_note_that_is_not_text_is_refused_naming_the_field(client, svc, admin_key):
    post_json(client, lead())
    contact_id = svc.contacts.find_by_key("email:ada@example.com")
    before = len(svc.events.timeline(contact_id, limit=500))
    answer = client.http.post(
        f"/leads/{contact_id}/follow-ups",
        headers={"X-Api-Key": admin_key, "Content-Type": "application/json"},
        body=_json({"kind": "call", "note": "left a message\x00"}),
    )

    assert list(_fields(answer)) == ["note"]
    assert len(svc.events.timeline(contact_id, limit=500)) == before


def test_a_preference_choice_that_is_not_text_is_refused_naming_the_field(client, svc):
    post_json(client, lead())
    contact_id = svc.contacts.find_by_key("email:ada@example.com")
    token = svc.preferences.signer.sign("unsubscribe", contact_id, "01KE6P4YM0AFZTXVWJ00000000")
    before = svc.contacts.get(contact_id)["consents"]
    answer = client.http.post(
        f"/unsubscribe/{token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="action=save%00&topics=newsletter",
    )

    assert list(_fields(answer)) == ["action"]
    assert svc.contacts.get(contact_id)["consents"] == before


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [33, 10_000])
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/forms/whitepaper/submissions", "application/json"),
        ("/events", "application/json"),
        ("/ses/notifications", "text/plain; charset=UTF-8"),
    ],
)
def test_json_nested_deeper_than_dynamodb_stores_is_a_400_on_every_public_body(
    client, svc, path, content_type, depth
):
    answer = client.http.post(path, headers={"Content-Type": content_type}, body=_nested(depth))

    assert answer.status_code == 400, answer.body
    assert json.loads(answer.body) == {
        "error": "malformed_body",
        "message": "the JSON is nested more than 32 levels",
    }
    assert _nothing_stored()


def _sns(client, body: bytes | str):
    return client.http.post(
        "/ses/notifications", headers={"Content-Type": "text/plain; charset=UTF-8"}, body=body
    )


def test_an_sns_post_that_is_not_utf8_is_a_400(client, svc):
    answer = _sns(client, b'{"Type": "Notification", "Message": "\xff\xfe"}')

    assert answer.status_code == 400
    assert json.loads(answer.body)["error"] == "malformed_body"


def test_an_sns_post_larger_than_any_sns_message_is_refused_before_it_is_read(client, svc):
    message = {"Type": "Notification", "TopicArn": TOPIC, "Message": "x" * (600 * 1024)}
    answer = _sns(client, json.dumps(message))

    assert answer.status_code == 413
    assert json.loads(answer.body)["error"] == "payload_too_large"


def test_a_genuine_sns_message_of_the_largest_size_is_read(client, svc, sns_key):
    bounce = _bounce("ada@example.com")
    bounce["mail"]["headers"] = [{"name": "X-Pad", "value": "x" * (250 * 1024)}]
    answer = _sns(client, json.dumps(_signed_notification(bounce, sns_key)))

    assert answer.status_code == 200, answer.body
    assert svc.subscriptions.suppression("ada@example.com") == "hard_bounce"


@pytest.mark.parametrize(
    "inner", ["{not json", "[" * 40 + "]" * 40, '["a bounce"]'], ids=["malformed", "deep", "array"]
)
def test_a_signed_notification_that_carries_no_readable_notice_is_a_400(
    client, svc, sns_key, inner
):
    message = _signed_notification({}, sns_key)
    message = {**message, "Message": inner}
    signature = sns_key.sign(sns.string_to_sign(message), padding.PKCS1v15(), hashes.SHA256())
    message["Signature"] = base64.b64encode(signature).decode()

    answer = _sns(client, json.dumps(message))

    assert answer.status_code == 400, answer.body
    assert json.loads(answer.body)["error"] == "malformed_body"


@pytest.mark.parametrize("accept", [None, "application/json", "text/html", "*/*"])
def test_the_open_pixel_is_always_the_gif_and_a_bad_token_records_nothing(client, svc, accept):
    post_json(client, lead())
    contact_id = svc.contacts.find_by_key("email:ada@example.com")
    signer = svc.engagement.signer
    tokens = [
        "x.gif",
        "not-a-token",
        signer.sign("open", contact_id, "01KE6P4YM0AFZTXVWJ00000000") + ".gif",  # no such email
        signer.sign("click", contact_id, "01KE6P4YM0AFZTXVWJ00000000", "0") + ".gif",
    ]
    before = len(all_events())
    for token in tokens:
        answer = client.http.get(f"/t/o/{token}", headers={"Accept": accept} if accept else {})

        assert answer.status_code == 200, (token, answer.body)
        assert answer.headers["Content-Type"] == "image/gif"
        assert answer.body == email_routes.PIXEL
    assert len(all_events()) == before


HOT = {"job_title": "VP Marketing", "company_size": "201-1000", "country": "US"}


@pytest.fixture
def open_lead(client, journeys) -> str:
    """A hot lead the sample routing has assigned to a salesperson."""
    assert post_json(client, lead(**HOT)).status_code == 201
    journeys.settle()
    contact_id = journeys.svc.contacts.find_by_key("email:ada@example.com")
    assert journeys.svc.contacts.get(contact_id)["lead"]["status"] == "assigned"
    return contact_id


def _act(client, key: str, contact_id: str, action: str, body: str):
    return client.http.post(
        f"/leads/{contact_id}/{action}",
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
        body=body,
    )


def _strict_json(answer) -> dict:
    """Parse as JSON is defined: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in a JSON answer")

    return json.loads(answer.body, parse_constant=refuse)


@pytest.mark.parametrize(
    "amount",
    ["1e999999", '"1e999999"', "NaN", '"NaN"', "-5", "1e12", '"0.00001"', "true", '"lots"'],
)
@pytest.mark.parametrize("action", ["opportunity", "won"])
def test_an_amount_that_is_not_bounded_money_is_refused_naming_it(
    client, svc, admin_key, open_lead, action, amount
):
    before = svc.contacts.get(open_lead)
    answer = _act(client, admin_key, open_lead, action, '{"amount": ' + amount + "}")

    assert list(_fields(answer)) == ["amount"]
    assert svc.contacts.get(open_lead)["lead"] == before["lead"]
    view = _strict_json(client.http.get(f"/contacts/{open_lead}", headers={"X-Api-Key": admin_key}))
    assert "deal_value" not in view["contact"]["properties"]


@pytest.mark.parametrize("currency", ['"€€€"', '"ÄÖÜ"', '"EURO"', "12"])
def test_a_currency_that_is_not_a_three_letter_code_is_refused(
    client, svc, admin_key, open_lead, currency
):
    answer = _act(
        client, admin_key, open_lead, "opportunity", '{"amount": 10, "currency": ' + currency + "}"
    )

    assert list(_fields(answer)) == ["currency"]


def test_money_within_bounds_is_kept_as_entered_with_its_currency(
    client, svc, admin_key, open_lead
):
    body = '{"name": "Pilot", "amount": "12500.50", "currency": "eur"}'
    answer = _act(client, admin_key, open_lead, "opportunity", body)

    assert answer.status_code == 200, answer.body
    opportunity = answer.json_body["lead"]["opportunity"]
    assert (opportunity["amount"], opportunity["currency"]) == ("12500.50", "EUR")
    view = _strict_json(client.http.get(f"/contacts/{open_lead}", headers={"X-Api-Key": admin_key}))
    assert view["contact"]["properties"]["deal_value"] == 12500.5


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ('{"a": Infinity}', "fields.a"),
        ('{"a": NaN}', "fields.a"),
        ('{"a": 1e400}', "fields.a"),
        ('{"a": -1e200}', "fields.a"),
        ('{"": 1}', 'fields.""'),
        ('{"a.b[0]": 1}', "fields.a.b[0]"),
        ('{"Contract": "signed"}', "fields.Contract"),
        ('{"email": "eve@example.com"}', "fields.email"),
        ('{"score": 100}', "fields.score"),
        ('{"a": {"b": 1}}', "fields.a"),
        (json.dumps({"a": "x" * 2001}), "fields.a"),
    ],
)
def test_a_field_sales_cannot_write_is_refused_naming_it(
    client, svc, admin_key, open_lead, fields, named
):
    before = svc.contacts.get(open_lead)
    answer = _act(client, admin_key, open_lead, "fields", '{"fields": ' + fields + "}")

    assert list(_fields(answer)) == [named]
    after = svc.contacts.get(open_lead)
    assert (after["properties"], after["email"]) == (before["properties"], before["email"])
    assert "contact_updated" not in [e.type for e in svc.events.timeline(open_lead, limit=500)]


@pytest.mark.parametrize(
    "typed", ["ａｄａ@ｅｘａｍｐｌｅ.ｃｏｍ", "ＡＤＡ＠ＥＸＡＭＰＬＥ．ＣＯＭ", "ada@example.com"]
)
def test_an_email_typed_in_another_unicode_form_is_the_same_contact(client, svc, admin_key, typed):
    assert post_json(client, lead()).status_code == 201
    again = post_json(client, lead(email=typed, first_name="Ａｄａ"))
    tracked = track(client, type="page_viewed", email=typed)
    found = client.http.get(f"/contacts?email={quote(typed)}", headers={"X-Api-Key": admin_key})

    assert (again.status_code, tracked.status_code) == (201, 202), (again.body, tracked.body)
    (contact,) = ContactModel.scan()
    assert contact.email == "ada@example.com"
    assert contact.properties.as_dict()["first_name"] == "Ada"
    assert [c["contact"]["id"] for c in found.json_body["contacts"]] == [contact.id]
    assert {k.key for k in ContactKeyModel.scan()} == {"email:ada@example.com"}


def test_a_phone_typed_in_fullwidth_digits_is_the_same_number(client, svc):
    answer = post_json(client, lead(phone="＋８６ １３８ ００１３ ８０００"))

    assert answer.status_code == 201, answer.body
    (contact,) = ContactModel.scan()
    assert contact.phone == "+8613800138000"


def test_fullwidth_markup_is_refused_like_markup(client, svc):
    answer = post_json(client, lead(company="＜script＞alert(1)＜/script＞"))

    assert _fields(answer) == {"company": "must not contain HTML or script markup"}
    assert _nothing_stored()


NOT_WEB_LINKS = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/phish",
    "/forms/whitepaper",
    "https:alert(1)",
]


def _back(page: bytes) -> str:
    return html.unescape(re.search(rb'<a href="([^"]*)">', page).group(1).decode())


def _browser_post(client, referer: str, body: dict):
    return client.http.post(
        "/forms/whitepaper/submissions",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": referer},
        body=urlencode(body),
    )


@pytest.mark.parametrize("referer", NOT_WEB_LINKS)
def test_the_form_error_page_links_back_only_to_a_web_page(client, svc, referer):
    answer = _browser_post(client, referer, lead(email="nope"))

    assert answer.status_code == 422
    assert _back(answer.body) == "/forms/whitepaper"


def test_the_form_error_page_links_back_to_the_page_the_form_was_on(client, svc):
    page = "https://www.example.com/playbook?utm_source=google&utm_medium=cpc"
    answer = _browser_post(client, page, lead(email="nope"))

    assert _back(answer.body) == page


@pytest.mark.parametrize("referer", NOT_WEB_LINKS[:3])
def test_the_come_back_later_page_links_back_only_to_a_web_page(svc, client, referer):
    with _store_down(svc):
        answer = _browser_post(client, referer, lead(consent="on"))

    assert answer.status_code == 503
    assert _back(answer.body) == "/"


def test_a_url_that_does_not_parse_costs_no_lead_and_no_500(client, svc):
    posted = post_json(
        client, lead(landing_page="http://[oops/x?utm_source=a"), Referer="http://[::1"
    )
    tracked = track(client, type="page_viewed", email="ada@example.com", page_url="https://[x")

    assert (posted.status_code, tracked.status_code) == (201, 202), (posted.body, tracked.body)
    (contact,) = ContactModel.scan()
    assert contact.first_touch.as_dict()["landing_page"] == "http://[oops/x?utm_source=a"


def test_what_a_url_decodes_to_is_kept_only_when_it_is_text(client, svc):
    page = "https://www.example.com/p?utm_source=goo%00gle&utm_medium=cpc&utm_campaign=%C2%85"
    assert (
        post_json(
            client, lead(utm_source=None, utm_medium=None, utm_campaign=None, landing_page=page)
        ).status_code
        == 201
    )

    (contact,) = ContactModel.scan()
    touch = contact.first_touch.as_dict()
    assert (touch["medium"], touch["source"]) == ("cpc", "(direct)")
    assert touch.get("campaign") != "\x85"


def test_a_browser_header_that_is_not_text_is_dropped_and_the_lead_kept(client, svc):
    answer = post_json(
        client, lead(), **{"User-Agent": "Mozilla/5.0\x85", "Referer": "https://x.example/\x00"}
    )

    assert answer.status_code == 201, answer.body
    (event,) = [e for e in all_events() if e.type == "form_submitted"]
    properties = event.properties.as_dict()
    assert "user_agent" not in properties
    assert "\x00" not in json.dumps(event.touch.as_dict())
