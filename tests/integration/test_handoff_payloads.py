"""What sales actually receives about a hot lead, read from the real hand-off: the owner's
email in the outbox, and the CRM webhook and Slack message as the courier posts them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib.messaging.http_post import Answer
from chalicelib.messaging.queues import WEBHOOKS
from chalicelib.services.courier import Courier
from tests.builders import lead, post_json

CRM = "https://crm.example.com/leadflow"
SLACK = "https://hooks.slack.example.com/T1/B2/x"
ENV = {
    "LEADFLOW_CRM_WEBHOOK_URL": CRM,
    "LEADFLOW_CRM_WEBHOOK_SECRET": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "LEADFLOW_SLACK_INBOUND_URL": SLACK,
}


class Network:
    def __init__(self) -> None:
        self.posts: dict[str, bytes] = {}

    def post(self, target, headers, body) -> Answer:
        self.posts[target.url] = body
        return Answer(200, b"ok")


def _hand_off(client, svc, journeys) -> str:
    """A VP from a big US company downloads the playbook from a Google ad: sales-ready."""
    fields = lead(job_title="VP Sales", company_size="1000+", country="US")
    fields.update(utm_source="google", utm_medium="cpc", utm_campaign="spring-sale")
    assert post_json(client, fields).status_code == 201
    journeys.settle()
    cid = svc.contacts.find_by_key("email:ada@example.com")
    assert svc.contacts.get(cid)["lead"]["status"] == "assigned"
    return cid


@pytest.fixture
def posted(client, svc, journeys) -> tuple[str, dict[str, Any]]:
    cid = _hand_off(client, svc, journeys)
    network = Network()
    courier = Courier(
        clock=svc.clock,
        ledger=svc.courier.ledger,
        queues=svc.queues,
        poster=network,
        env=ENV,
        resolver=lambda host, port: ["93.184.216.34"],
        max_delay_seconds=0,
    )
    while messages := svc.queues.receive(WEBHOOKS):
        for message in messages:
            assert courier.deliver(message.body) == "delivered"
            svc.queues.delete(WEBHOOKS, message)
    return cid, network.posts


def test_the_crm_webhook_carries_the_leads_attribution_and_reasons_that_add_up(svc, posted):
    cid, posts = posted
    lead_ = json.loads(posts[CRM])["data"]["lead"]
    first = lead_["attribution"]["first_touch"]
    assert (first["source"], first["medium"], first["campaign"]) == ("google", "cpc", "spring-sale")
    assert first["channel"] == "paid_search"
    assert lead_["attribution"]["last_touch"]["campaign"] == "spring-sale"
    contact = svc.contacts.get(cid)
    assert lead_["score"] == contact["score"] == 70
    reasons = lead_["reasons"]
    assert sum(r["points"] for r in reasons) == lead_["score"]
    # Four rules gave points: the fourth is named rather than called "other".
    assert [r["rule"] for r in reasons] == [
        "whitepaper",
        "senior-title",
        "company-size",
        "target-country",
    ]
    assert reasons[-1]["points"] == 5


def test_the_chat_message_names_the_source_and_every_point(posted):
    _, posts = posted
    text = json.dumps(json.loads(posts[SLACK]), ensure_ascii=False)
    assert "google / cpc / spring-sale" in text
    assert "from 1 other rule" not in text and "+5 In a country we sell to" in text


def test_the_owners_email_shows_the_source_and_the_top_reasons_for_the_score(client, svc, journeys):
    _hand_off(client, svc, journeys)
    journeys.deliver()
    [handoff] = [
        svc.mailbox.read(n)
        for n in svc.mailbox.names()
        if "New lead for you" in str(svc.mailbox.read(n)["Subject"])
    ]
    text = re.sub(r"\s+", " ", handoff.get_body(("plain",)).get_content())
    assert "First touch: google / cpc / spring-sale" in text
    assert "top reasons for score 70" in text
    assert "+30 Downloaded the playbook" in text and "+5 " in text
    assert "None" not in text


def test_a_won_deal_is_credited_to_the_campaign_that_brought_the_lead(client, svc, journeys):
    cid = _hand_off(client, svc, journeys)
    svc.sales.act(cid, "won", {"amount": 12000})
    [won] = [
        e for e in svc.events.timeline(cid, limit=500, newest_first=False) if e.type == "deal_won"
    ]
    assert won.properties["campaign"] == "spring-sale"
