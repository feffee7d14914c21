"""Every outbound step of the sample content, through the real consumers: each sample journey's
email, webhook and hand-off step and each sample rule's notices go from the engine through
the queues to the sender and the courier, and come out sent or delivered, never crashed.

And a delivery attempt that crashes counts as a failed attempt: it is retried, dead-lettered
and replayable, never left "sending"."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib import ids
from chalicelib.events import Event
from chalicelib.leads.identity import Identity
from chalicelib.leads.intake import Intake
from chalicelib.messaging.http_post import Answer
from chalicelib.messaging.queues import WEBHOOKS, WEBHOOKS_DEAD
from chalicelib.services import courier as courier_mod
from chalicelib.services.courier import Courier
from chalicelib.store.models import ContactModel
from tests.builders import ROOT, Journeys
from tests.integration.test_handoff import drain_webhooks

SAMPLES = ROOT / "marketing"
OUTBOUND = ("send_email", "webhook", "handoff")
FIRE = "outbound_check"
HOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PUBLIC = ["93.184.216.34"]


def _env() -> dict[str, str]:
    """A value for every variable the sample routing and journeys name: all is configured."""
    text = "\n".join(f.read_text() for f in [SAMPLES / "routing.yaml", *SAMPLES.glob("journeys/*")])
    env = {}
    for name in set(re.findall(r"(?:url|secret)_env:\s*(\w+)", text)):
        if name.endswith("_URL"):
            env[name] = f"https://{name.lower().replace('_', '-')}.example.com/hook"
        else:
            env[name] = HOOK_SECRET if "WEBHOOK" in name else "SEC0123456789abcdef"
    return env | {courier_mod.JOURNEY_SECRET: HOOK_SECRET}


class Network:
    """The far side of every POST: a receiver that takes whatever it is sent."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.headers: list[dict[str, Any]] = []

    def post(self, target, headers, body) -> Answer:
        self.posts.append((target.url, json.loads(body)))
        self.headers.append(dict(headers, body=body))
        return Answer(200, b'{"errcode": 0, "code": 0}')


class Crashing(Network):
    """A resolver that fails in a way nobody planned for (not the network)."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = True

    def resolve(self, host: str, port: int) -> list[str]:
        if self.broken:
            raise RuntimeError("resolver crashed")
        return PUBLIC


def _courier(svc, network: Network, resolver=lambda host, port: PUBLIC) -> Courier:
    return Courier(
        clock=svc.clock,
        ledger=svc.courier.ledger,
        queues=svc.queues,
        poster=network,
        env=_env(),
        resolver=resolver,
        max_delay_seconds=0,
    )


def _run(journeys: Journeys, courier: Courier, cid: str) -> None:
    """Process, send and post everything, half a day at a time (quiet hours and send days
    pass), until something was queued and all of it is settled."""
    for _ in range(20):
        journeys.settle()
        journeys.deliver()
        drain_webhooks(journeys.svc, courier)
        journeys.settle()
        queued = [e for e in _timeline(journeys.svc, cid) if e.type.endswith("_queued")]
        if queued and all(_settled(journeys.svc, e) for e in queued):
            return
        journeys.later(hours=12)


def _timeline(svc, cid: str) -> list[Event]:
    return svc.events.timeline(cid, limit=1000, newest_first=False)


def _contact(svc, clock) -> str:
    """A customer who consented to every topic, with the profile the templates greet."""
    now = clock.now()
    profile = {"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines"}
    consent = {"topics": ["marketing", "newsletter"], "at": now.isoformat(), "source": "test"}
    intake = Intake(
        Identity(email="ada@example.com"),
        "signed_up",
        ids.event_id(now),
        now,
        "test",
        profile=profile | {"birthday": "01-06", "country": "US"},
        consent=consent,
        is_submission=True,
    )
    svc.contacts.record(intake)
    return svc.contacts.find_by_key("email:ada@example.com")


def _journey_steps() -> Iterator[Any]:
    for path in sorted((SAMPLES / "journeys").glob("*.yaml")):
        journey = yaml.safe_load(path.read_text())
        for step in journey["steps"]:
            kind = next((k for k in OUTBOUND if k in step), None)
            if kind:
                yield pytest.param(path.stem, step["id"], kind, id=f"{path.stem}:{step['id']}")


def _alone(journey_id: str, step_id: str) -> str:
    """The sample journey with this step alone, started by FIRE: the same settings (zone,
    quiet hours, send days), the same step as written."""
    journey = yaml.safe_load((SAMPLES / "journeys" / f"{journey_id}.yaml").read_text())
    [step] = [s for s in journey["steps"] if s["id"] == step_id]
    for key in ("entry", "exit_when", "goal", "trigger", "steps"):
        journey.pop(key, None)
    step = {k: v for k, v in step.items() if k != "next"}
    return yaml.safe_dump(
        {**journey, "trigger": {"event": FIRE}, "steps": [step]}, allow_unicode=True
    )


@pytest.mark.parametrize(("journey_id", "step_id", "kind"), list(_journey_steps()))
def test_each_sample_journeys_outbound_step_is_sent_or_delivered(
    journeys: Journeys, svc, clock, tmp_path: Path, journey_id: str, step_id: str, kind: str
):
    folder = tmp_path / "marketing"
    folder.mkdir()
    (folder / "routing.yaml").write_text((SAMPLES / "routing.yaml").read_text())
    journeys.publish(folder, **{journey_id: _alone(journey_id, step_id)})
    cid = _contact(svc, clock)
    network = Network()
    journeys.event(cid, FIRE)
    _run(journeys, _courier(svc, network), cid)

    timeline = _timeline(svc, cid)
    kinds = [e.type for e in timeline]
    assert not {"email_failed", "webhook_failed", "email_skipped"} & set(kinds), [
        (e.type, e.properties) for e in timeline if e.type.endswith(("failed", "skipped"))
    ]
    mine = [e for e in timeline if e.properties.get("step") == step_id]
    if kind == "send_email":
        assert [e.type for e in mine if e.type == "email_sent"] == ["email_sent"]
    elif kind == "webhook":
        [delivered] = [e for e in timeline if e.type == "webhook_delivered"]
        url, body = network.posts[0]
        step = yaml.safe_load((SAMPLES / "journeys" / f"{journey_id}.yaml").read_text())
        [written] = [s["webhook"] for s in step["steps"] if s["id"] == step_id]
        assert url == (written.get("url") or _env()[written["url_env"]])
        assert body["type"] == "journey.webhook"
        assert body["data"]["payload"] == written.get("payload", {})
        assert body["data"]["contact"]["email"] == "ada@example.com"
        assert (body["data"]["journey"], body["data"]["step"]) == (journey_id, step_id)
        assert _verifies(network.headers[0])
        assert svc.courier.ledger.get(delivered.properties["ledger"]).status == "sent"
    else:
        assert "lead_assigned" in kinds
        sent = [e for e in timeline if e.type == "email_sent"]
        assert any(e.properties.get("template") == "lead-handoff" for e in sent)
        assert network.posts and "webhook_delivered" in kinds
    assert not [e for e in timeline if e.type.endswith("_queued") and not _settled(svc, e)]


def _verifies(sent: dict[str, Any]) -> bool:
    """The Standard Webhooks check a receiver makes (docs/webhooks.md), on the fake clock."""
    key = base64.b64decode(HOOK_SECRET.removeprefix("whsec_"))
    signed = f"{sent['webhook-id']}.{sent['webhook-timestamp']}.".encode() + sent["body"]
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return f"v1,{expected}" in sent["webhook-signature"].split()


def _settled(svc, queued: Event) -> bool:
    entry = svc.courier.ledger.get(queued.properties["ledger"])
    return entry is not None and entry.status in ("sent", "skipped")


def _rules() -> Iterator[Any]:
    book = yaml.safe_load((SAMPLES / "rules.yaml").read_text())
    for rule in book["rules"]:
        if any("notify" in action for action in rule["then"]):
            yield pytest.param(rule["id"], id=rule["id"])


@pytest.mark.parametrize("rule_id", list(_rules()))
def test_each_sample_rules_notices_are_sent(journeys: Journeys, svc, clock, tmp_path, rule_id):
    book = yaml.safe_load((SAMPLES / "rules.yaml").read_text())
    [rule] = [r for r in book["rules"] if r["id"] == rule_id]
    fired = {"id": rule["id"], "when": {"event": FIRE}, "then": rule["then"]}
    folder = tmp_path / "marketing"
    folder.mkdir()
    (folder / "routing.yaml").write_text((SAMPLES / "routing.yaml").read_text())
    (folder / "rules.yaml").write_text(yaml.safe_dump({"rules": [fired]}, allow_unicode=True))
    journeys.publish(folder)
    cid = _contact(svc, clock)
    owner = {"status": "accepted", "owner": "ada", "owner_email": "ada.park@example.com"}
    ContactModel(cid).update(actions=[ContactModel.lead.set({**owner, "team": "inbound"})])
    journeys.event(cid, FIRE)
    _run(journeys, _courier(svc, Network()), cid)

    timeline = _timeline(svc, cid)
    assert "rule_fired" in [e.type for e in timeline]
    queued = [e for e in timeline if e.type in ("email_queued", "webhook_queued")]
    assert queued
    assert all(_settled(svc, e) for e in queued)
    assert not [e for e in timeline if e.type in ("email_failed", "webhook_failed")]


# --- a crash is a failed attempt -----------------------------------------------------------


def test_a_crashing_attempt_is_retried_then_dead_lettered_then_replayed(
    client, journeys: Journeys, svc, clock, admin_key
):
    cid = _contact(svc, clock)
    network = Crashing()
    courier = _courier(svc, network, resolver=network.resolve)
    svc.courier = courier  # the replay route uses it too
    journeys.event(cid, "deal_won", amount=12000)  # onboarding: its notify-cs webhook
    outcomes = drain_webhooks(svc, courier)
    assert outcomes == ["retrying"]
    [queued] = [e for e in _timeline(svc, cid) if e.type == "webhook_queued"]
    key = queued.properties["ledger"]
    assert svc.courier.ledger.get(key).status == "retry"  # not "sending"
    for step in courier_mod.SCHEDULE:
        clock.advance(step)
        outcomes += drain_webhooks(svc, courier)
    assert outcomes[-1] == "dead"
    entry = svc.courier.ledger.get(key)
    assert entry.status == "failed" and len(entry.attempt_log) == len(courier_mod.SCHEDULE) + 1
    assert all("resolver crashed" in a["error"] for a in entry.attempt_log)
    assert svc.queues.depth(WEBHOOKS_DEAD) == 1
    assert "webhook_failed" in [e.type for e in _timeline(svc, cid)]

    network.broken = False
    answer = client.http.post(
        "/deliveries/replay",
        headers={"Content-Type": "application/json", "X-Api-Key": admin_key},
        body=json.dumps({"key": key}),
    )
    assert answer.status_code == 200, answer.body
    assert drain_webhooks(svc, courier) == ["delivered"]
    assert svc.courier.ledger.get(key).status == "sent"
    assert network.posts[0][1]["data"]["payload"] == {"event": "new_customer"}


def test_a_copy_that_finds_the_delivery_in_flight_comes_back_after_the_lease(
    journeys: Journeys, svc, clock
):
    cid = _contact(svc, clock)
    network = Network()
    courier = _courier(svc, network)
    journeys.event(cid, "deal_won", amount=12000)
    [message] = svc.queues.receive(WEBHOOKS)
    svc.queues.delete(WEBHOOKS, message)
    # A worker claimed it and died before recording anything.
    assert courier.ledger.claim(message.body["ledger"], clock.now(), courier_mod.LEASE).granted
    assert courier.deliver(message.body) == "in_flight"
    clock.advance(courier_mod.LEASE + timedelta(seconds=1))
    assert drain_webhooks(svc, courier) == ["delivered"]
    assert [url for url, _ in network.posts] == [_env()["LEADFLOW_CS_WEBHOOK_URL"]]
