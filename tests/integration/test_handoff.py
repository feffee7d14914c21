"""Routing, hand-off, the SLA pool and reminders on the real pipeline and the embedded AWS,
with a fake clock."""

from __future__ import annotations

import json
from collections import Counter as Tally
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.leads.routing import Routing, candidates
from chalicelib.messaging.http_post import Answer
from chalicelib.messaging.queues import WEBHOOKS
from chalicelib.services import courier as courier_mod
from chalicelib.services.courier import Courier
from chalicelib.store.counters import Counters, open_leads_key, turn_key
from tests.builders import Journeys, lead, post_json

SCORING = """
fit:
  - id: senior
    label: Senior title
    if: {field: job_title, matches: "(?i)director|vp"}
    points: 50
engagement:
  - id: whitepaper
    label: Downloaded the playbook
    event: form_submitted
    points: 30
stages: {lead: 5, mql: 40, sql: 70}
"""

ROUTING = """
sla: 2h
follow_up_within: 30d
fallback: inbound
rules:
  - id: china
    if: {field: country, in: [CN]}
    team: china
teams:
  - id: inbound
    manager: {name: Morgan, email: morgan@example.com}
    members:
      - {id: ada, name: Ada Park, email: ada.park@example.com}
      - {id: ben, name: Ben Ortiz, email: ben.ortiz@example.com}
    notify:
      - {kind: webhook, url: "https://hooks.example.com/leads", secret_env: HOOK_SECRET}
      - {kind: slack, url: "https://hooks.slack.example.com/T1/B2/x"}
  - id: china
    manager: {name: 王静, email: wang.jing@example.com}
    members:
      - {id: zhang-wei, name: 张伟, email: zhang.wei@example.com}
    notify:
      - kind: dingtalk
        url: "https://oapi.dingtalk.example.com/robot/send?access_token=t"
        secret_env: DING_SECRET
"""
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class FakeNetwork:
    """The far side of the POST: records requests, answers from a script."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.requests: list[dict[str, Any]] = []

    def post(self, target, headers, body) -> Answer:
        self.requests.append({"url": target.url, "headers": headers, "body": body})
        status = self.answers.pop(0) if self.answers else 200
        return Answer(status, b'{"errcode":0}' if status == 200 else b"busy")


def publish_sales(journeys: Journeys, folder: Path, routing: str = ROUTING) -> Journeys:
    """Publish the sample forms with this scoring and routing: hot leads get routed."""
    folder.mkdir()
    (folder / "scoring.yaml").write_text(SCORING)
    (folder / "routing.yaml").write_text(routing)
    journeys.publish(folder)
    return journeys


@pytest.fixture
def sales(journeys: Journeys, tmp_path, svc) -> Journeys:
    return publish_sales(journeys, tmp_path / "marketing")


def courier_for(svc, network: FakeNetwork) -> Courier:
    return Courier(
        clock=svc.clock,
        ledger=svc.courier.ledger,
        queues=svc.queues,
        poster=network,
        env={"HOOK_SECRET": SECRET, "DING_SECRET": "SEC0123456789"},
        resolver=lambda host, port: ["93.184.216.34"],
        max_delay_seconds=0,
    )


def drain_webhooks(svc, courier: Courier) -> list[str]:
    """Deliver what is due now: the outcomes, but for messages that must wait (not yet due,
    or another copy mid-send); stop once only those come back."""
    later = ("waiting", "in_flight")
    outcomes: list[str] = []
    while messages := svc.queues.receive(WEBHOOKS):
        results = [courier.deliver(m.body) for m in messages]
        for message in messages:
            svc.queues.delete(WEBHOOKS, message)
        outcomes += [r for r in results if r not in later]
        if all(r in later for r in results):
            break
    return outcomes


def hot(client, sales: Journeys, **fields: Any) -> str:
    answer = post_json(client, lead(job_title="VP Sales", **fields))
    assert answer.status_code in (201, 303), answer.body
    sales.settle()
    found = sales.svc.contacts.find_by_key(f"email:{fields.get('email', 'ada@example.com')}")
    assert found is not None
    return found


@dataclass(frozen=True)
class Mail:
    recipient: str
    subject: str
    html: str


def outbox(svc) -> list[Mail]:
    return [
        Mail(m.recipient, m.subject, svc.mailbox.part(svc.mailbox.read(m.name), "html"))
        for m in svc.mailbox.summaries()
    ]


def types(svc, cid: str) -> list[str]:
    return [e.type for e in svc.events.timeline(cid, limit=500, newest_first=False)]


def test_hot_lead_is_assigned_with_email_and_webhooks(client, sales, svc, clock):
    clock.set(datetime.now(UTC))  # the independent verifier checks against the wall clock
    cid = hot(client, sales)
    contact = svc.contacts.get(cid)
    assert contact["stage"] == "sql"
    assert contact["lead"]["status"] == "assigned" and contact["lead"]["team"] == "inbound"
    owner = contact["lead"]["owner"]
    assert svc.courier.ledger and "lead_assigned" in types(svc, cid)
    sales.deliver()
    mail = outbox(svc)
    handoff = [m for m in mail if "New lead for you" in m.subject]
    assert len(handoff) == 1
    assert handoff[0].recipient == contact["lead"]["owner_email"]
    html = handoff[0].html
    assert "Analytical Engines" in html and "Senior title" in html and "/accept/" in html
    assert "/t/c/" not in html and "unsubscribe" not in html.lower()  # internal: untracked
    network = FakeNetwork()
    assert drain_webhooks(svc, courier_for(svc, network)) == ["delivered", "delivered"]
    generic = next(r for r in network.requests if r["url"] == "https://hooks.example.com/leads")
    body = json.loads(generic["body"])
    assert body["type"] == "lead.assigned" and body["data"]["lead"]["id"] == cid
    assert body["data"]["owner"]["owner"] == owner
    from standardwebhooks.webhooks import Webhook

    headers = generic["headers"]
    assert "webhook-signature" in headers
    assert Webhook(SECRET).verify(generic["body"], headers)["data"]["lead"]["id"] == cid
    assert "webhook_delivered" in types(svc, cid)


def test_routing_by_territory(client, sales, svc):
    cid = hot(client, sales, email="li@example.cn", country="CN")
    contact = svc.contacts.get(cid)
    assert contact["lead"]["team"] == "china" and contact["lead"]["owner"] == "zhang-wei"
    assert contact["lead"]["rule"] == "china"
    network = FakeNetwork()
    drain_webhooks(svc, courier_for(svc, network))
    (ding,) = network.requests
    assert "timestamp=" in ding["url"] and "sign=" in ding["url"]
    assert json.loads(ding["body"])["msgtype"] == "markdown"


def test_round_robin_is_fair_under_concurrency(svc):
    routing = Routing.model_validate(
        {
            "fallback": "t",
            "teams": [
                {
                    "id": "t",
                    "members": [
                        {"id": name, "name": name, "email": f"{name}@example.com"}
                        for name in ("a", "b", "c", "d")
                    ],
                }
            ],
        }
    )
    team = routing.team("t")
    counters = Counters()
    now = svc.clock.now()

    def assign(_: int) -> str:
        return candidates(team, counters.next(turn_key("t")), now, set())[0].id

    with ThreadPoolExecutor(max_workers=8) as pool:
        owners = Tally(pool.map(assign, range(1000)))
    assert sorted(owners) == ["a", "b", "c", "d"]
    assert all(249 <= n <= 251 for n in owners.values()), owners


def test_capacity_sends_the_lead_to_the_next_owner(client, sales, svc, tmp_path):
    folder = tmp_path / "marketing"
    (folder / "routing.yaml").write_text(
        ROUTING.replace(
            "{id: ada, name: Ada Park, email: ada.park@example.com}",
            "{id: ada, name: Ada Park, email: ada.park@example.com, capacity: 1}",
        )
    )
    sales.publish(folder)
    owners = [
        svc.contacts.get(hot(client, sales, email=f"p{i}@example.com"))["lead"]["owner"]
        for i in range(4)
    ]
    assert owners.count("ada") == 1 and owners.count("ben") == 3
    assert Counters().value(open_leads_key("ada")) == 1


def test_sla_recycles_to_another_owner_and_tells_the_manager(client, sales, svc):
    cid = hot(client, sales)
    first = svc.contacts.get(cid)["lead"]
    sales.later(hours=1, minutes=59)
    assert svc.contacts.get(cid)["lead"]["owner"] == first["owner"]
    sales.later(minutes=2)
    now = svc.contacts.get(cid)["lead"]
    assert now["status"] == "assigned" and now["owner"] != first["owner"]
    assert now["previous_owners"] == [first["owner"]]
    recycled = [e for e in svc.events.timeline(cid, limit=500) if e.type == "lead_recycled"]
    assert len(recycled) == 1 and recycled[0].properties["owner"] == first["owner"]
    sales.deliver()
    subjects = {m.recipient: m.subject for m in outbox(svc)}
    assert subjects["morgan@example.com"].startswith("Recycled:")
    assert Counters().value(open_leads_key(first["owner"])) == 0
    assert Counters().value(open_leads_key(now["owner"])) == 1
    # Nobody left who has not had it: the next expiry puts it in the shared pool.
    sales.later(hours=2, minutes=1)
    pooled = svc.contacts.get(cid)["lead"]
    assert pooled["status"] == "pool" and "owner" not in pooled
    assert "lead_unassigned" in types(svc, cid)


def test_accepting_stops_the_sla_and_30_days_without_follow_up_remind(
    client, sales, svc, admin_key
):
    cid = hot(client, sales)
    owner = svc.contacts.get(cid)["lead"]["owner"]
    answer = client.http.post(
        f"/leads/{cid}/accept",
        headers={"X-Api-Key": admin_key, "Content-Type": "application/json"},
        body=json.dumps({"owner": owner}),
    )
    assert answer.status_code == 200, answer.body
    assert answer.json_body["lead"]["status"] == "accepted"
    sales.later(hours=3)
    assert svc.contacts.get(cid)["lead"]["owner"] == owner  # accepted: no recycling
    sales.later(days=20)
    client.http.post(
        f"/leads/{cid}/follow-ups",
        headers={"X-Api-Key": admin_key, "Content-Type": "application/json"},
        body=json.dumps({"kind": "call", "note": "Left a voicemail"}),
    )
    sales.later(days=29)
    assert "follow_up_reminded" not in types(svc, cid)
    sales.later(days=2)
    assert types(svc, cid).count("follow_up_reminded") == 1
    sales.deliver()
    reminded = {m.recipient for m in outbox(svc) if "No follow-up" in m.subject}
    assert reminded == {svc.contacts.get(cid)["lead"]["owner_email"], "morgan@example.com"}


@pytest.mark.parametrize(
    ("action", "body"),
    [("follow-ups", {"kind": "call", "note": "Called"}), ("opportunity", {"name": "Pilot"})],
)
def test_working_an_assigned_lead_accepts_it_and_says_so(
    client, sales, svc, admin_key, action, body
):
    """The sales report counts accepts by their `lead_accepted` events: one made by working
    the lead is an accept like any other, with its minutes."""
    cid = hot(client, sales)
    owner = svc.contacts.get(cid)["lead"]["owner"]
    sales.later(minutes=12)
    answer = client.http.post(
        f"/leads/{cid}/{action}",
        headers={"X-Api-Key": admin_key, "Content-Type": "application/json"},
        body=json.dumps({**body, "owner": owner}),
    )
    assert answer.status_code == 200, answer.body
    assert svc.contacts.get(cid)["lead"]["status"] == "accepted"
    accepted = [e for e in svc.events.timeline(cid, limit=500) if e.type == "lead_accepted"]
    assert [(e.properties["owner"], e.properties["minutes_to_accept"]) for e in accepted] == [
        (owner, 12)
    ]
    sales.later(hours=3)
    assert svc.contacts.get(cid)["lead"]["owner"] == owner  # accepted: no recycling


def test_webhook_retries_then_dead_letters_then_replays(client, sales, svc):
    cid = hot(client, sales)
    network = FakeNetwork(answers=[503] * 20)
    courier = courier_for(svc, network)
    drain_webhooks(svc, courier)
    generic = lambda: [r for r in network.requests if "hooks.example.com" in r["url"]]  # noqa: E731
    assert len(generic()) == 1
    waited = timedelta()
    for step in courier_mod.SCHEDULE:
        svc.clock.advance(step - timedelta(seconds=1))
        drain_webhooks(svc, courier)
        before = len(generic())
        svc.clock.advance(seconds=1)
        drain_webhooks(svc, courier)
        assert len(generic()) == before + 1  # not a second early, then at once
        waited += step
    assert timedelta(hours=20) < waited < timedelta(hours=30)
    assert len(generic()) == len(courier_mod.SCHEDULE) + 1
    key = next(e for e in svc.events.timeline(cid, limit=500) if e.type == "webhook_failed")
    ledger_key = key.properties["ledger"]
    entry = svc.courier.ledger.get(ledger_key)
    assert entry.status == "failed" and len(entry.attempt_log) == len(generic())
    assert all(a["status"] == 503 for a in entry.attempt_log)
    assert svc.queues.depth("webhooks-dead") == 2  # the CRM hook and Slack, both dead
    network.answers = []
    assert courier.replay_dead_letters() == {"replayed": 2, "skipped": 0}
    assert svc.queues.depth("webhooks-dead") == 0
    drain_webhooks(svc, courier)
    assert svc.courier.ledger.get(ledger_key).status == "sent"
    assert types(svc, cid).count("webhook_delivered") == 2  # both, on the replay


def test_private_targets_are_refused_without_a_request(client, sales, svc):
    hot(client, sales)
    network = FakeNetwork()
    courier = courier_for(svc, network)
    courier.resolver = lambda host, port: ["169.254.169.254"]
    drain_webhooks(svc, courier)
    assert network.requests == []


def test_a_crashing_delivery_goes_back_to_the_queue(svc):
    courier = courier_for(svc, FakeNetwork())
    records = [{"messageId": "m1", "body": json.dumps({"contact_id": "c"})}]  # no ledger key
    assert courier_mod.handle_batch(records, courier) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}]
    }
