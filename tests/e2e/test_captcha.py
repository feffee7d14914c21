"""A form with a CAPTCHA: the token is verified server-side, against a local stand-in for the
provider, before anything is stored."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlencode

import pytest

from chalicelib import bootstrap
from chalicelib.leads.form_language import Form
from chalicelib.messaging.captcha import CaptchaVerifier
from chalicelib.store.models import ContactModel, EventModel
from tests.builders import lead, post_json

SECRET = "0x4AAAAAAA-test-secret"
PASSING = "token-that-passes"


class Provider(BaseHTTPRequestHandler):
    """Answers as Turnstile's siteverify does; keeps what it was asked."""

    asked: ClassVar[list[dict[str, list[str]]]] = []
    down = False

    def do_POST(self) -> None:
        fields = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        Provider.asked.append(fields)
        if Provider.down:
            self.send_response(502)
            self.end_headers()
            return
        ok = fields.get("secret") == [SECRET] and fields.get("response") == [PASSING]
        body = json.dumps(
            {"success": ok, "error-codes": [] if ok else ["invalid-input-response"]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Provider.asked, Provider.down = [], False
    yield f"http://127.0.0.1:{server.server_port}/turnstile/v0/siteverify"
    server.shutdown()


@pytest.fixture
def guarded(svc: bootstrap.Services, provider: str) -> bootstrap.Services:
    """The whitepaper form behind a Turnstile widget, verified at the local provider."""
    form = svc.content.latest("form", "whitepaper")
    form["captcha"] = {"provider": "turnstile", "site_key": "0x4AAAAAAA-site-key"}
    Form.model_validate(form)
    svc.content.publish("form", "whitepaper", form)
    svc.captcha = CaptchaVerifier(SECRET, provider)
    return svc


def _stored() -> tuple[int, int]:
    return len(list(ContactModel.scan())), len(list(EventModel.scan()))


def test_a_failed_challenge_is_refused_by_name_and_stores_nothing(client, guarded):
    response = post_json(client, lead(**{"cf-turnstile-response": "a-bot-guessed"}))

    assert response.status_code == 422
    assert response.json_body["fields"] == [
        {"field": "captcha", "message": "the challenge was not passed: please try it again"}
    ]
    assert _stored() == (0, 0)
    (asked,) = Provider.asked
    assert asked["secret"] == [SECRET] and asked["response"] == ["a-bot-guessed"]


def test_a_post_without_a_token_is_refused_without_asking_the_provider(client, guarded):
    response = post_json(client, lead())

    assert response.status_code == 422
    assert response.json_body["fields"][0]["field"] == "captcha"
    assert Provider.asked == []
    assert _stored() == (0, 0)


def test_a_passed_challenge_stores_the_lead_without_the_token(client, guarded):
    response = post_json(client, lead(**{"cf-turnstile-response": PASSING}))

    assert response.status_code == 201
    (contact,) = ContactModel.scan()
    assert contact.email == "ada@example.com"
    assert PASSING not in json.dumps([e.properties.as_dict() for e in EventModel.scan()])


def test_a_retry_with_its_key_is_answered_from_the_first_post_though_the_token_is_spent(
    client, guarded
):
    first = post_json(
        client, lead(**{"cf-turnstile-response": PASSING}), **{"Idempotency-Key": "k-1"}
    )
    retry = post_json(
        client, lead(**{"cf-turnstile-response": "spent"}), **{"Idempotency-Key": "k-1"}
    )

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json_body["submission_id"] == first.json_body["submission_id"]
    assert _stored()[0] == 1


def test_when_the_provider_cannot_answer_the_post_is_503_with_retry_after(client, guarded):
    Provider.down = True

    response = post_json(client, lead(**{"cf-turnstile-response": PASSING}))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert _stored() == (0, 0)


def test_the_browser_gets_the_form_again_with_the_widget_and_the_message(client, guarded):
    fields = {**lead(), "cf-turnstile-response": "nope"}
    response = client.http.post(
        "/forms/whitepaper/submissions",
        body=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )

    page = response.body.decode()
    assert response.status_code == 422
    assert 'class="cf-turnstile" data-sitekey="0x4AAAAAAA-site-key"' in page
    assert "challenges.cloudflare.com/turnstile/v0/api.js" in page
    assert 'id="e-captcha"' in page
    assert 'value="ada@example.com"' in page


def test_failed_challenges_count_against_the_forms_limit_and_then_meet_429(client, guarded):
    form = guarded.content.latest("form", "whitepaper")
    form["rate_limit"] = {"max": 3, "per": "10m"}
    guarded.content.publish("form", "whitepaper", form)
    answers = [
        post_json(client, lead(**{"cf-turnstile-response": "guess"})).status_code for _ in range(5)
    ]

    assert answers == [422, 422, 422, 429, 429]
    assert len(Provider.asked) == 3  # the provider is not asked past the limit
    assert _stored() == (0, 0)


def test_a_retry_is_answered_from_the_first_post_while_the_provider_is_down(client, guarded):
    key = {"Idempotency-Key": "k-down"}
    first = post_json(client, lead(**{"cf-turnstile-response": PASSING}), **key)
    Provider.down = True

    retry = post_json(client, lead(**{"cf-turnstile-response": PASSING}), **key)

    assert (first.status_code, retry.status_code) == (201, 200)
    assert len(Provider.asked) == 1  # the retry did not ask again
