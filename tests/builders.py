"""Builders shared by tests/unit, tests/integration and tests/e2e: request bodies, posts through
Chalice's test client, stub email templates, and the drivers of the pipeline and journeys.

Nothing here starts the embedded AWS; what needs it asks for a fixture (tests/conftest.py).
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from chalice.test import Client

from chalicelib import bootstrap, ids
from chalicelib.clock import FakeClock
from chalicelib.content import catalog
from chalicelib.events import EMAIL_DELIVERED, Event
from chalicelib.local.stream_driver import StreamDriver
from chalicelib.pipeline import stream
from chalicelib.services import publisher
from chalicelib.store.event_log import to_model
from chalicelib.store.models import EventModel

ROOT = Path(__file__).resolve().parent.parent


class Pipeline:
    """Drives the real stream consumer over the emulator's stream, as the local stack does."""

    def __init__(self, services: bootstrap.Services) -> None:
        self.services = services
        self.driver = StreamDriver(
            EventModel.Meta.table_name,
            lambda batch: stream.handle_batch(batch["Records"], self.services.processor),
        )

    def drain(self, rounds: int = 20) -> int:
        total = 0
        for _ in range(rounds):
            handled = self.driver.poll_once()
            total += handled
            if not handled:
                break
        return total


def lead(**overrides: Any) -> dict[str, Any]:
    """A valid whitepaper submission; override or drop (None) any field."""
    body: dict[str, Any] = {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Engines",
        "consent": True,
        "utm_source": "linkedin",
        "utm_medium": "paid_social",
        "utm_campaign": "playbook-q4",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def post_json(client: Client, body: Any, form: str = "whitepaper", **headers: str):
    return client.http.post(
        f"/forms/{form}/submissions",
        headers={"Content-Type": "application/json", **headers},
        body=body if isinstance(body, str | bytes) else json.dumps(body),
    )


def track(client: Client, **body: Any):
    """POST /events with a JSON body, as a website's tracker does."""
    return client.http.post(
        "/events", headers={"Content-Type": "application/json"}, body=json.dumps(body)
    )


def all_events() -> list[EventModel]:
    return list(EventModel.scan())


STUB_TEMPLATE = """[% extends "layouts/base.mjml" %]
[% block body %]<mj-section><mj-column><mj-text>Hello {{ contact.first_name | default("there") }},
see <a href="https://www.example.com/{name}">{name}</a>.</mj-text></mj-column></mj-section>
[% endblock %]
"""


def delivered(contact_id: str, start: datetime, n: int) -> None:
    """`n` deliveries on the timeline, already processed: what Leadflow did to the person,
    not what they did (written directly: the pipeline has nothing to do with them)."""
    with EventModel.batch_write() as batch:
        for k in range(n):
            at = start + timedelta(seconds=k)
            item = to_model(Event(contact_id, ids.event_id(at), EMAIL_DELIVERED, at, "ses"), 8)
            item.pending_shard = None
            item.processed_at = at
            batch.save(item)


def active_behind_emails(client: Client, journeys: Journeys, email: str) -> str:
    """A contact who posted, clicked 100 days later, then was sent 250 emails over the next
    50 days: their own last activity sits behind hundreds of events that are not theirs."""
    assert post_json(client, lead(email=email)).status_code == 201
    journeys.settle()
    contact_id = journeys.svc.contacts.find_by_email(email)
    journeys.later(days=100)
    journeys.event(contact_id, "email_clicked", url="https://example.com/pricing")
    journeys.clock.advance(days=50)
    delivered(contact_id, journeys.clock.now(), 250)
    return contact_id


def stub_templates(folder: Path, journeys_yaml: str) -> None:
    """The repo's layout and brand plus a small template for each name the journeys send,
    and every topic they name, so test journeys validate like real ones."""
    import re

    import yaml

    for shared in ("layouts", "partials"):
        shutil.copytree(ROOT / "templates" / shared, folder / shared, dirs_exist_ok=True)
    brand = yaml.safe_load((ROOT / "templates" / "brand.yaml").read_text())
    for topic in re.findall(r"topic:\s*([\w-]+)", journeys_yaml):
        brand["topics"].setdefault(topic, topic.title())
    (folder / "brand.yaml").write_text(yaml.safe_dump(brand, allow_unicode=True))
    names = set(re.findall(r"template:\s*([\w/-]+)", journeys_yaml))
    for name in names | {"lead-handoff", "team-notice"}:  # what sales notices send
        path = folder / f"{name}.mjml"
        path.parent.mkdir(parents=True, exist_ok=True)
        source = ROOT / "templates" / f"{name}.mjml"
        path.write_text(
            source.read_text() if source.exists() else STUB_TEMPLATE.replace("{name}", name)
        )


class Journeys:
    """Drives journeys as production does: the stream consumer for events, the tick for time."""

    def __init__(self, services: bootstrap.Services, pipeline: Pipeline, clock: FakeClock):
        self.svc = services
        self.pipeline = pipeline
        self.clock = clock

    def publish(self, folder: Path, **journeys: str) -> None:
        """Publish the sample forms and the files they offer plus these journeys (file stem ->
        YAML) and whatever else `folder` holds; only they are live."""
        (folder / "forms").mkdir(parents=True, exist_ok=True)
        (folder / "journeys").mkdir(exist_ok=True)
        for form in (ROOT / "marketing" / "forms").glob("*.yaml"):
            (folder / "forms" / form.name).write_text(form.read_text())
        shutil.copytree(ROOT / "marketing" / "assets", folder / "assets", dirs_exist_ok=True)
        for stem, text in journeys.items():
            (folder / "journeys" / f"{stem}.yaml").write_text(text)
        sending = [*journeys.values(), *(b.read_text() for b in folder.glob("broadcasts/*.yaml"))]
        stub_templates(folder.parent / "templates", "\n".join(sending))
        content = catalog.load(folder)
        assert not content.problems, content.problems
        publisher.publish(content, self.svc.content)
        self.svc.content._cache.clear()

    def sign_up(self, email: str) -> str:
        """A contact who signed up (a `signed_up` event, no form), once settled; its id."""
        from chalicelib import ids
        from chalicelib.leads.identity import Identity
        from chalicelib.leads.intake import Intake

        now = self.clock.now()
        recorded = self.svc.contacts.record(
            Intake(Identity(email=email), "signed_up", ids.event_id(now), now, source="test")
        )
        self.settle()
        return recorded.contact_id

    def settle(self) -> None:
        """Process every pending event, then run a tick, until nothing more happens."""
        for _ in range(20):
            handled = self.pipeline.drain()
            report, timers = self.svc.tick()
            quiet = not handled and not report.advanced and not timers.fired
            if quiet and not self.pipeline.drain():  # the tick's daily RFM may have written
                return
        raise AssertionError("journeys did not settle")

    def at(self, when: Any) -> None:
        self.clock.set(when)
        self.settle()

    def later(self, **delta: float) -> None:
        self.clock.advance(**delta)
        self.settle()

    def event(self, contact_id: str, type_: str, **properties: Any) -> None:
        from chalicelib import ids
        from chalicelib.events import Event

        now = self.clock.now()
        event = Event(contact_id, ids.event_id(now), type_, now, "test", properties)
        assert self.svc.events.append(event)
        self.settle()

    def timeline(self, contact_id: str, journey: str | None = None) -> list[Any]:
        events = self.svc.events.timeline(contact_id, limit=1000, newest_first=False)
        return [
            e
            for e in events
            if e.source == "journey" and (journey is None or e.properties.get("journey") == journey)
        ]

    def deliver(self) -> int:
        """Run the send queue's consumer until the queue is empty; returns emails handled."""
        from chalicelib.local import queue_driver
        from chalicelib.messaging.queues import SENDS
        from chalicelib.services import sender

        total = 0
        while n := queue_driver.drain_once(
            self.svc.queues, SENDS, lambda batch: sender.handle_batch(batch, self.svc.sender)
        ):
            total += n
        return total

    def emails(self, contact_id: str, journey: str | None = None) -> list[tuple[str, Any]]:
        return [
            (e.properties["step"], e.occurred_at)
            for e in self.timeline(contact_id, journey)
            if e.type == "email_queued"
        ]


class DynamoCalls:
    """The DynamoDB operations this process makes inside the block, by name (botocore's
    event hooks): a test asserts what a step read, a Scan above all."""

    def __enter__(self) -> list[str]:
        from chalicelib.store import tables

        self.client = tables.connection().client
        self.seen: list[str] = []
        self.client.meta.events.register("before-call.dynamodb", self._count)
        return self.seen

    def __exit__(self, *exc: object) -> None:
        self.client.meta.events.unregister("before-call.dynamodb", self._count)

    def _count(self, model: Any, **kwargs: Any) -> None:
        self.seen.append(model.name)


def without_indexes(model: Any) -> None:
    """Make `model`'s table again as an older release made it: its keys, no index (what a
    state saved before an index existed looks like)."""
    from chalicelib.store import tables

    client = tables.connection().client
    name = model.Meta.table_name
    schema = model._get_schema()
    keys = {k["AttributeName"] for k in schema["key_schema"]}
    client.delete_table(TableName=name)
    client.create_table(
        TableName=name,
        KeySchema=schema["key_schema"],
        AttributeDefinitions=[
            a for a in schema["attribute_definitions"] if a["AttributeName"] in keys
        ],
        BillingMode="PAY_PER_REQUEST",
    )
