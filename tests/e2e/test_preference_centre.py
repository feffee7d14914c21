"""The preference centre as a reader uses it: the switches show what they really receive,
turning one topic off stops that topic only, and only "unsubscribe from everything" (or a
mail program's one-click) unsubscribes them from everything and ends their journeys."""

from __future__ import annotations

import re

import pytest

from chalicelib.messaging.mailbox import Mailbox
from tests.builders import lead, post_json

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _unsubscribe_path(svc, subject: str) -> str:
    for name in svc.mailbox.names():
        message = svc.mailbox.read(name)
        if subject in str(message["Subject"]):
            html = Mailbox.part(message, "html")
            return re.search(r'href="https://leads\.example\.com(/unsubscribe/[^"]+)"', html)[1]
    raise AssertionError(f"no email {subject!r}")


def _ticked(client, path: str) -> set[str]:
    page = client.http.get(path)
    assert page.status_code == 200
    return set(re.findall(r'value="([\w-]+)" checked', page.body.decode()))


def _events(svc, cid: str, *kinds: str) -> list:
    timeline = svc.events.timeline(cid, limit=1000, newest_first=False)
    return [e for e in timeline if e.type in kinds]


@pytest.fixture
def reader(client, svc, journeys) -> tuple[str, str]:
    """Li subscribes to the newsletter (marketing and newsletter consent); the welcome email
    arrives. Returns the contact and the preference centre's path from that email."""
    body = {"email": "li@example.com", "consent": True, "name": "Li"}
    assert post_json(client, body, form="newsletter").status_code == 201
    journeys.settle()
    assert journeys.deliver() == 1
    journeys.later(minutes=10)  # the time it takes to read it
    cid = svc.contacts.find_by_key("email:li@example.com")
    return cid, _unsubscribe_path(svc, "欢迎订阅")


def test_the_switches_show_only_what_the_contact_receives(client, svc, journeys):
    """Ada consented to marketing on the playbook form, never to the newsletter, which the
    newsletter form asks consent for: it is off, whatever the page offers."""
    assert post_json(client, lead()).status_code == 201
    journeys.settle()
    journeys.deliver()
    journeys.later(minutes=10)
    path = _unsubscribe_path(svc, "Your copy of The Lead Engine Playbook")
    page = client.http.get(path).body.decode()
    assert 'value="newsletter"' in page and 'value="marketing"' in page
    assert _ticked(client, path) == {"marketing"}


def test_turning_one_topic_off_stops_that_topic_only(client, svc, journeys, reader):
    cid, path = reader
    assert _ticked(client, path) == {"marketing", "newsletter"}
    answer = client.http.post(path, headers=FORM, body="topics=newsletter&action=save")
    assert answer.status_code == 200 and b"saved" in answer.body
    assert _ticked(client, path) == {"newsletter"}
    [off] = _events(svc, cid, "topic_unsubscribed")
    assert off.properties["topic"] == "marketing"
    assert _events(svc, cid, "unsubscribed") == []
    journeys.settle()
    assert _events(svc, cid, "journey_exited") == []  # the journeys go on
    journeys.later(days=2)  # the best-of issue, on the newsletter topic, still goes out
    assert journeys.deliver() == 1
    sent = [e.properties.get("step") for e in _events(svc, cid, "email_sent")]
    assert "best-of" in sent and _events(svc, cid, "email_skipped") == []


def test_a_journey_that_sends_only_one_topic_may_end_when_it_is_turned_off(
    client, svc, journeys, reader
):
    cid, path = reader
    client.http.post(path, headers=FORM, body="topics=marketing&action=save")
    journeys.settle()
    [exited] = _events(svc, cid, "journey_exited")
    assert exited.properties["journey"] == "newsletter-welcome"
    assert exited.properties["reason"] == "exit goal: topic_unsubscribed"
    assert _events(svc, cid, "unsubscribed") == []


def test_turning_every_switch_off_is_not_unsubscribing_from_everything(
    client, svc, journeys, reader
):
    cid, path = reader
    client.http.post(path, headers=FORM, body="action=save")
    assert _ticked(client, path) == set()
    assert {e.properties["topic"] for e in _events(svc, cid, "topic_unsubscribed")} == {
        "marketing",
        "newsletter",
    }
    assert _events(svc, cid, "unsubscribed") == []
    assert svc.contacts.get(cid)["consents"].get("*") is None


def test_unsubscribe_from_everything_ends_every_journey(client, svc, journeys, reader):
    cid, path = reader
    answer = client.http.post(path, headers=FORM, body="action=all")
    assert answer.status_code == 200
    [everything] = _events(svc, cid, "unsubscribed")
    assert everything.properties["topics"] == ["*"]
    assert _ticked(client, path) == set()
    journeys.settle()
    reasons = {e.properties["reason"] for e in _events(svc, cid, "journey_exited")}
    assert reasons == {"unsubscribed from all marketing email"}


def test_a_topic_turned_back_on_after_everything_was_stopped_comes_back_alone(
    client, svc, journeys, reader
):
    cid, path = reader
    client.http.post(path, headers=FORM, body="action=all")
    journeys.later(minutes=1)
    client.http.post(path, headers=FORM, body="topics=newsletter&action=save")
    assert _ticked(client, path) == {"newsletter"}
    [back] = _events(svc, cid, "subscribed")
    assert back.properties["topics"] == ["newsletter"]
