"""Opens and clicks as people make them: every fetch kept, the first per email and link marked
unique and scored once; link tokens accepted only in the exact form they were signed."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from chalicelib.messaging.mailbox import Mailbox
from tests.unit.test_engagement import _respellings

ORIGIN = "https://leads.example.com"
IMAGE = {"Accept": "image/webp,image/apng,image/*,*/*;q=0.8"}  # what mail programs send


def _html(svc) -> str:
    """The newest email's HTML."""
    return Mailbox.part(svc.mailbox.read(svc.mailbox.names()[0]), "html")


def _tracked(svc, route: str) -> list[str]:
    paths = re.findall(rf'"{re.escape(ORIGIN)}(/t/{route}/[^"]+)"', _html(svc))
    return list(dict.fromkeys(paths))


def _events(svc, cid: str, kind: str) -> list:
    return [e for e in svc.events.timeline(cid, limit=500, newest_first=False) if e.type == kind]


def test_five_clicks_of_one_link_are_all_kept_and_only_the_first_is_unique(
    client, svc, journeys, ada
):
    [download] = _tracked(svc, "c")
    for _ in range(5):
        assert client.http.get(download).status_code == 302
    journeys.later(days=3)  # the case study: another email, another link
    assert journeys.deliver() == 1
    [case_study] = _tracked(svc, "c")
    assert client.http.get(case_study).status_code == 302
    journeys.settle()
    clicks = _events(svc, ada, "email_clicked")
    assert len(clicks) == 6
    by_email: dict[str, list[bool]] = {}
    for click in clicks:
        by_email.setdefault(click.properties["email"], []).append(click.properties["unique"])
    assert sorted(by_email.values(), key=len) == [[True], [True, False, False, False, False]]
    # Scoring counts people's interest: once per email and link, not once per fetch.
    assert svc.contacts.get(ada)["score_reasons"]["email-click"] == 10


def test_an_email_opened_three_times_scores_one_open(client, svc, journeys, ada):
    [pixel] = _tracked(svc, "o")
    for _ in range(3):
        assert client.http.get(pixel, headers=IMAGE).status_code == 200
    journeys.settle()
    opens = _events(svc, ada, "email_opened")
    assert [o.properties["unique"] for o in opens] == [True, False, False]
    assert svc.contacts.get(ada)["score_reasons"]["email-open"] == 1


def test_two_racing_first_clicks_make_exactly_one_unique(svc, ada):
    [sent] = _events(svc, ada, "email_sent")
    token = svc.sender.signer.sign("click", ada, sent.event_id, "0")
    start = Barrier(8)

    def click(_: int) -> str:
        start.wait()
        return svc.engagement.click(token)

    with ThreadPoolExecutor(8) as pool:
        assert len(set(pool.map(click, range(8)))) == 1
    clicks = _events(svc, ada, "email_clicked")
    assert len(clicks) == 8
    assert [c.properties["unique"] for c in clicks].count(True) == 1


# --- canonical tokens --------------------------------------------------------------------------


def test_a_respelled_click_link_is_refused_and_records_nothing(client, svc, ada):
    link = _tracked(svc, "c")[0]
    payload, signature = link.removeprefix("/t/c/").split(".")
    respelled = [s for s in _respellings(signature) if s.strip() == s and " " not in s]
    for signature_ in respelled:
        answer = client.http.get(f"/t/c/{payload}.{signature_}")
        assert answer.status_code == 400, signature_
        assert json.loads(answer.body)["error"] == "invalid_token"
    assert _events(svc, ada, "email_clicked") == []


@pytest.mark.parametrize("path", ["/t/c/not-a-token", "/unsubscribe/not-a-token", "/accept/x.y"])
def test_a_browser_opening_a_broken_link_gets_a_page_and_a_program_gets_json(client, svc, path):
    browser = client.http.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
    program = client.http.get(path, headers={"Accept": "application/json"})

    assert browser.status_code == program.status_code and browser.status_code in (400, 404)
    assert browser.headers["Content-Type"].startswith("text/html")
    assert "This link does not work" in browser.body.decode()
    assert program.json_body["message"] in browser.body.decode()


def test_an_emails_click_counters_expire_with_the_email_and_others_stay(client, svc, ada, clock):
    from chalicelib.services.engagement import COUNTERS_KEPT
    from chalicelib.store.models import CounterModel

    [download] = _tracked(svc, "c")
    assert client.http.get(download).status_code == 302

    # The form's limit windows expire by design (store/limits.py): not an email's counters.
    counters = [c for c in CounterModel.scan() if not c.key.startswith("limit#")]
    kept = [c for c in counters if c.expires_at is not None]
    assert len(kept) == 1 and kept[0].key.endswith("clicks")
    assert kept[0].expires_at == clock.now() + COUNTERS_KEPT
    assert all(c.expires_at is None for c in counters if not c.key.startswith("email#"))
