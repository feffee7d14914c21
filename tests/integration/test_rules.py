"""If/then rules from the sample marketing/rules.yaml, on the real pipeline (the embedded AWS)."""

from __future__ import annotations

import json

from chalicelib.events import Event
from tests.builders import Journeys, lead, post_json
from tests.integration.test_handoff import outbox, types

HOT = {"job_title": "VP Marketing", "company_size": "201-1000", "country": "US"}


def _contact(client, journeys: Journeys, **fields) -> str:
    answer = post_json(client, lead(**fields))
    assert answer.status_code in (201, 303), answer.body
    journeys.settle()
    return journeys.svc.contacts.find_by_key("email:ada@example.com")


def _act(client, key: str, cid: str, action: str, **body):
    answer = client.http.post(
        f"/leads/{cid}/{action}",
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
        body=json.dumps(body),
    )
    assert answer.status_code == 200, answer.body
    return answer.json_body


def _fired(svc, cid: str, rule: str) -> list[Event]:
    return [
        e
        for e in svc.events.timeline(cid, limit=500)
        if e.type == "rule_fired" and e.properties["rule"] == rule
    ]


def test_status_becoming_signed_emails_finance_once(client, journeys, svc, admin_key):
    cid = _contact(client, journeys)
    _act(client, admin_key, cid, "fields", fields={"contract_status": "signed"})
    journeys.settle()
    _act(client, admin_key, cid, "fields", fields={"contract_status": "signed"})  # no change
    journeys.settle()
    assert len(_fired(svc, cid, "invoice-on-signed")) == 1
    assert "invoiced" in svc.contacts.get(cid)["tags"]
    journeys.deliver()
    finance = [m for m in outbox(svc) if m.recipient == "finance@example.com"]
    assert len(finance) == 1 and "invoice" in finance[0].subject.lower()
    assert "Analytical Engines" in finance[0].html
    # Back to draft and signed again: a new qualifying event, so the rule fires again.
    _act(client, admin_key, cid, "fields", fields={"contract_status": "draft"})
    _act(client, admin_key, cid, "fields", fields={"contract_status": "signed"})
    journeys.settle()
    assert len(_fired(svc, cid, "invoice-on-signed")) == 2


def test_a_rule_fires_once_when_its_event_is_processed_twice(client, journeys, svc, admin_key):
    cid = _contact(client, journeys)
    _act(client, admin_key, cid, "fields", fields={"contract_status": "signed"})
    journeys.settle()
    (update,) = [e for e in svc.events.timeline(cid, limit=500) if e.type == "contact_updated"]
    runner = next(h for h in svc.processor.registry["*"] if "RuleRunner" in repr(h))
    runner(update, svc.processor.context)  # a redelivered stream record
    runner(update, svc.processor.context)
    assert len(_fired(svc, cid, "invoice-on-signed")) == 1
    to_finance = [
        e
        for e in svc.events.timeline(cid, limit=500)
        if e.type == "email_queued" and e.properties.get("to") == "finance@example.com"
    ]
    assert len(to_finance) == 1


def test_high_value_customer_without_follow_up_alerts_owner_and_manager(
    client, journeys, svc, admin_key
):
    cid = _contact(client, journeys, **HOT)
    lead_ = svc.contacts.get(cid)["lead"]
    assert lead_["status"] == "assigned"
    _act(client, admin_key, cid, "accept")
    _act(client, admin_key, cid, "won", amount=25000, currency="EUR")
    journeys.settle()
    contact = svc.contacts.get(cid)
    assert contact["stage"] == "customer" and "customer" in contact["tags"]
    journeys.later(days=29)
    assert not _fired(svc, cid, "high-value-no-follow-up")
    journeys.later(days=2)
    assert len(_fired(svc, cid, "high-value-no-follow-up")) == 1
    journeys.deliver()
    alerted = {m.recipient for m in outbox(svc) if "No follow-up for 30 days" in m.subject}
    assert alerted == {lead_["owner_email"], "morgan.reyes@example.com"}


def test_a_small_customer_does_not_alert(client, journeys, svc, admin_key):
    cid = _contact(client, journeys, **HOT)
    _act(client, admin_key, cid, "accept")
    _act(client, admin_key, cid, "won", amount=900)
    journeys.later(days=31)
    assert not _fired(svc, cid, "high-value-no-follow-up")
    assert "rule_due" in types(svc, cid)  # the timer fired; the condition did not hold
