"""Public endpoints refuse a flood with 429 and Retry-After, and store nothing of it."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from chalicelib.api import tracking
from chalicelib.api.tracking import ADDRESS_LIMIT, VISITOR_LIMIT
from chalicelib.content import catalog
from chalicelib.errors import TooManyRequests
from chalicelib.services import publisher
from chalicelib.store.limits import Limit, Limiter
from chalicelib.store.models import CounterModel
from tests.builders import ROOT, all_events, lead, post_json, track


def an_hour_from_now() -> datetime:
    """On the hour, in the future: the counters' TTL must not have passed by the embedded
    AWS's own clock, or it would expire them in the middle of a test."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def test_a_window_allows_max_then_refuses_until_it_ends(svc, clock):
    limiter, limit = Limiter("secret"), Limit("form:test", 3, timedelta(minutes=10))
    clock.set(an_hour_from_now())
    assert [limiter.take(limit, "203.0.113.9", clock.now()).allowed for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    clock.advance(minutes=4)
    refused = limiter.take(limit, "203.0.113.9", clock.now())
    assert (refused.allowed, refused.retry_after) == (False, 360)
    assert limiter.take(limit, "198.51.100.7", clock.now()).allowed  # another address
    clock.advance(minutes=6)
    assert limiter.take(limit, "203.0.113.9", clock.now()).allowed  # a new window


def test_the_subject_is_kept_only_as_a_keyed_hash(clock):
    limit = Limit("events", 1, timedelta(minutes=1))
    key, _ = Limiter("secret").key(limit, "visitor:v-1", clock.now())
    assert "v-1" not in key and key.startswith("limit#events#")
    assert key != Limiter("other").key(limit, "visitor:v-1", clock.now())[0]


def _with_form_limit(svc, tmp_path, limit: str) -> None:
    root = tmp_path / "marketing"
    shutil.copytree(ROOT / "marketing", root)
    form = root / "forms" / "whitepaper.yaml"
    form.write_text(form.read_text(encoding="utf-8") + f"rate_limit: {limit}\n", encoding="utf-8")
    publisher.publish(catalog.load(root, ROOT / "templates"), svc.content)


def test_a_form_past_its_limit_answers_429_with_retry_after_and_stores_nothing(
    svc, client, clock, tmp_path
):
    _with_form_limit(svc, tmp_path, "{max: 2, per: 1m}")
    clock.set(an_hour_from_now())
    for n in range(2):
        assert post_json(client, lead(email=f"p{n}@example.com")).status_code == 201
    before = len(all_events())
    clock.advance(seconds=15)
    refused = post_json(client, lead(email="flood@example.com"))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "45"
    assert json.loads(refused.body) == {
        "error": "too_many_requests",
        "message": "too many requests (2 per 1m allowed); try again in 45 s",
        "retry_after": 45,
    }
    assert len(all_events()) == before
    assert svc.contacts.find_by_key("email:flood@example.com") is None
    clock.advance(seconds=45)
    assert post_json(client, lead(email="flood@example.com")).status_code == 201


def test_a_browser_past_the_limit_gets_a_page_that_says_when_to_come_back(
    svc, client, clock, tmp_path
):
    _with_form_limit(svc, tmp_path, "{max: 1, per: 10m}")
    clock.set(an_hour_from_now())
    form = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
    body = urlencode(lead(consent="on"))
    assert (
        client.http.post("/forms/whitepaper/submissions", headers=form, body=body).status_code
        == 303
    )
    page = client.http.post("/forms/whitepaper/submissions", headers=form, body=body)
    assert page.status_code == 429 and page.headers["Retry-After"] == "600"
    assert "text/html" in page.headers["Content-Type"]
    assert "try again in 600 s" in page.body.decode()


def test_events_are_limited_per_visitor(svc, client, clock):
    clock.set(an_hour_from_now())
    answers = {
        track(client, type="page_viewed", visitor_id="visitor-busy", url=f"/p{n}").status_code
        for n in range(VISITOR_LIMIT.max)
    }
    assert answers == {202}
    refused = track(client, type="page_viewed", visitor_id="visitor-busy", url="/again")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == 600
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert track(client, type="page_viewed", visitor_id="visitor-calm", url="/").status_code == 202


def test_a_new_visitor_id_per_event_does_not_escape_the_address_limit(
    svc, client, clock, monkeypatch
):
    monkeypatch.setattr(tracking, "ADDRESS_LIMIT", Limit(ADDRESS_LIMIT.name, 3, ADDRESS_LIMIT.per))
    clock.set(an_hour_from_now())
    answers = [
        track(client, type="page_viewed", visitor_id=f"visitor-{n:04d}", url="/").status_code
        for n in range(4)
    ]
    assert answers == [202, 202, 202, 429]


def test_an_exempt_address_is_never_limited_nor_counted(svc, clock):
    limiter = Limiter("secret", exempt=("127.0.0.1",))
    limit = Limit("form:test", 1, timedelta(minutes=10))
    for _ in range(3):
        limiter.enforce(limit, "127.0.0.1", clock.now(), "127.0.0.1")  # would raise
    key, _ = limiter.key(limit, "127.0.0.1", clock.now())
    assert CounterModel.count(key) == 0
    limiter.enforce(limit, "203.0.113.9", clock.now(), "203.0.113.9")
    with pytest.raises(TooManyRequests):
        limiter.enforce(limit, "203.0.113.9", clock.now(), "203.0.113.9")


@pytest.mark.parametrize("per", [0, "0s", "2d"])
def test_a_window_must_be_longer_than_nothing_and_at_most_a_day(per):
    from pydantic import ValidationError

    from chalicelib.leads.form_language import RateLimit

    with pytest.raises(ValidationError, match="per"):
        RateLimit.model_validate({"max": 5, "per": per})


def test_a_visitor_id_with_a_lone_surrogate_is_limited_not_a_500(svc, client, clock):
    clock.set(an_hour_from_now())
    body = '{"type": "page_viewed", "visitor_id": "\\ud800visitor-odd"}'
    answer = client.http.post("/events", headers={"Content-Type": "application/json"}, body=body)
    assert answer.status_code < 500
