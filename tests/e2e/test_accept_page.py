"""The owner's accept page: the lead's reasons and what it did, on the owner's clock and in
the owner's language."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.leads.ownership import ACCEPT_PURPOSE, OWNER_PURPOSE
from tests.builders import Journeys, lead, post_json
from tests.integration.test_handoff import publish_sales

ROUTING = """
sla: 2h
fallback: inbound
rules:
  - {if: {field: country, in: [CN]}, team: china}
teams:
  - id: inbound
    business_hours: {timezone: America/New_York}
    members:
      - {id: ada, name: Ada Park, email: ada.park@example.com}
  - id: china
    language: zh-CN
    business_hours: {timezone: Asia/Shanghai}
    members:
      - {id: zhang-wei, name: 张伟, email: zhang.wei@example.com}
"""


@pytest.fixture
def routed(journeys: Journeys, tmp_path, svc) -> Journeys:
    return publish_sales(journeys, tmp_path / "marketing", ROUTING)


def _page(client, routed: Journeys, **fields) -> tuple[str, str]:
    assert post_json(client, lead(job_title="VP Sales", **fields)).status_code == 201
    routed.settle()
    svc = routed.svc
    cid = svc.contacts.find_by_key(f"email:{fields.get('email', 'ada@example.com')}")
    owner = svc.contacts.get(cid)["lead"]["owner"]
    token = svc.dispatcher.signer.sign(ACCEPT_PURPOSE, cid, owner)
    page = client.http.get(f"/accept/{token}")
    assert page.status_code == 200
    return page.body.decode(), token


def test_the_accept_page_shows_reasons_highlights_and_the_deadline_on_the_owners_clock(
    client, routed, clock
):
    html, _ = _page(client, routed)

    assert "Why it is hot" in html and "+50 Senior title" in html
    assert re.search(r"\d\d:\d\d E[SD]T submitted whitepaper", html)  # the owner's clock
    deadline = re.search(r"<dt>Accept by</dt><dd>([^<]+)</dd>", html).group(1)
    assert deadline.endswith((" EST", " EDT")) and "UTC" not in deadline


def test_a_chinese_team_reads_its_accept_page_in_chinese(client, routed):
    html, token = _page(client, routed, email="li@example.cn", country="CN")

    assert 'lang="zh-CN"' in html and "为什么是热线索" in html and "接受线索" in html
    assert "CST 提交了表单 whitepaper" in html
    assert "· 已分配" in html and "· assigned" not in html
    assert re.search(r"请在此前接受</dt><dd>[^<]+ CST</dd>", html)
    accepted = client.http.post(
        f"/accept/{token}", body=b"", headers={"Content-Type": "text/plain"}
    )
    assert "已接受" in accepted.body.decode()


def test_the_hand_off_email_speaks_the_owners_language_on_the_owners_clock(client, routed):
    from tests.integration.test_handoff import outbox

    _page(client, routed, email="li@example.cn", country="CN")
    _page(client, routed, email="ada@example.com")
    routed.deliver()
    mails = {m.recipient: m for m in outbox(routed.svc)}

    chinese, english = mails["zhang.wei@example.com"], mails["ada.park@example.com"]
    assert chinese.subject.startswith("新线索：") and "接受线索" in chinese.html
    assert re.search(r"请在 \d{4}-\d\d-\d\d \d\d:\d\d CST 前接受", chinese.html)
    assert '<html lang="zh-CN"' in chinese.html and '<html lang="en"' in english.html
    assert english.subject.startswith("New lead for you: ") and "Accept the lead" in english.html
    assert re.search(r"Accept by \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", english.html)
    assert not re.search(r"[\u4e00-\u9fff]", english.html)


def test_a_link_kept_after_the_lead_moved_on_shows_nothing_of_the_lead(client, routed):
    html, _ = _page(client, routed)
    svc = routed.svc
    cid = svc.contacts.find_by_key("email:ada@example.com")
    stale = svc.dispatcher.signer.sign(ACCEPT_PURPOSE, cid, "somebody-before")

    page = client.http.get(f"/accept/{stale}").body.decode()

    assert "ada@example.com" in html  # the owner's own link shows the lead
    assert "no longer yours" in page
    assert "ada@example.com" not in page and "Lovelace" not in page and "Why it is hot" not in page


def test_the_owner_gives_the_lead_back_from_the_page(client, routed):
    card, card_token = _page(client, routed)  # the accept link a chat card carries
    svc = routed.svc
    cid = svc.contacts.find_by_key("email:ada@example.com")
    token = svc.dispatcher.signer.sign(OWNER_PURPOSE, cid, "ada")  # the owner's email's
    html = client.http.get(f"/accept/{token}").body.decode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    before = svc.contacts.get(cid)["lead"]

    by_card = client.http.post(
        f"/accept/{card_token}", body=b"action=release&reason=x", headers=form
    )
    blank = client.http.post(f"/accept/{token}", body=b"action=release&reason=+", headers=form)
    bogus = client.http.post(f"/accept/{token}", body=b"action=delete", headers=form)
    unread = client.http.post(
        f"/accept/{token}", body=b"action=release&reason=x", headers={"Content-Type": "text/plain"}
    )
    untouched = svc.contacts.get(cid)["lead"]
    given = client.http.post(
        f"/accept/{token}", body="action=release&reason=不是我的客户".encode(), headers=form
    )
    again = client.http.post(f"/accept/{token}", body=b"action=release&reason=x", headers=form)

    assert "Give the lead back" in html and "Give the lead back" not in card
    assert by_card.status_code == 403 and "own email" in by_card.body.decode()
    assert blank.status_code == 422 and "reason: is required" in blank.body.decode()
    assert 'class="note failed"' in blank.body.decode() and "<details" in blank.body.decode()
    assert '<details style="margin-top:20px" open>' in blank.body.decode()  # the field shows
    assert unread.status_code == 415 and "<html" in unread.body.decode()  # neither accepted
    assert bogus.status_code == 422 and "action: one of accept, release" in bogus.body.decode()
    assert untouched == before
    assert given.status_code == 200
    assert "Given back" in given.body.decode() and "ada@example.com" not in given.body.decode()
    assert again.status_code == 409 and "<html" in again.body.decode()  # a page, never JSON
    lead = svc.contacts.get(cid)["lead"]
    assert lead["status"] == "pool" and lead["previous_owners"] == ["ada"]
    released = [e for e in svc.events.timeline(cid, limit=100) if e.type == "lead_released"]
    assert [(e.properties["reason"], e.properties["by"]) for e in released] == [
        ("不是我的客户", "ada")
    ]


def test_only_the_owner_s_email_carries_the_link_that_gives_a_lead_back(client, routed):
    from tests.integration.test_handoff import outbox

    _page(client, routed)
    routed.deliver()
    svc = routed.svc
    (mail,) = [m for m in outbox(svc) if m.recipient == "ada.park@example.com"]
    token = re.search(r"/accept/([^\"<\s]+)", mail.html).group(1)

    cid = svc.contacts.find_by_key("email:ada@example.com")
    assert svc.dispatcher.signer.verify(OWNER_PURPOSE, token) == [cid, "ada"]
    stored = json.dumps([e.properties for e in svc.events.timeline(cid, limit=500)])
    assert token not in stored  # signed at the send: no reader of the timeline gets it
