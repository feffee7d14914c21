"""The journey runner reads a contact's enrollments only for events a journey version may react
to, and a process that read the journeys before one was published still sees the events its
enrollments react to."""

from __future__ import annotations

import time
from typing import Any

from chalicelib import bootstrap, ids
from chalicelib.events import Event
from chalicelib.store import tables
from chalicelib.store.models import EnrollmentModel, EventModel
from tests.builders import track
from tests.conftest import settings

ADA = ids.contact_id("email", "ada@example.com")
SIGNAL = """
name: Signal
trigger: {{event: demo_requested}}
{exits}
steps:
  - id: first
    send_email: {{template: signal-first, subject: First, transactional: true}}
  - id: pause
    wait: 3d
  - id: second
    send_email: {{template: signal-second, subject: Second, transactional: true}}
"""


class _Queries:
    """The enrollments Queries sent, counted at botocore as they leave."""

    def __init__(self) -> None:
        self.tables: list[str] = []
        self.client = tables.connection().client
        self.client.meta.events.register("before-call.dynamodb.Query", self._seen)

    def _seen(self, params: dict[str, Any], **_: Any) -> None:
        self.tables.append(str(params.get("body", b"")))

    def of_enrollments(self) -> int:
        return sum(EnrollmentModel.Meta.table_name in body for body in self.tables)

    def stop(self) -> None:
        self.client.meta.events.unregister("before-call.dynamodb.Query", self._seen)


def _append(svc: bootstrap.Services, type_: str, **properties: Any) -> EventModel:
    now = svc.clock.now()
    event = Event(ADA, ids.event_id(now), type_, now, "test", properties)
    assert svc.events.append(event)
    return EventModel.get(ADA, event.event_id, consistent_read=True)


def _enrollment() -> EnrollmentModel:
    (enrollment,) = [e for e in EnrollmentModel.query(ADA) if e.journey_id == "signal"]
    return enrollment


def test_an_event_no_journey_version_names_reads_no_enrollments(client, journeys, tmp_path):
    journeys.publish(tmp_path, signal=SIGNAL.format(exits=""))
    track(client, type="demo_requested", email="ada@example.com")
    journeys.settle()
    queries = _Queries()
    try:
        named = _append(journeys.svc, "email_clicked", journey="signal", step="first")
        unnamed = _append(journeys.svc, "email_sent", journey="signal", step="first")
        journeys.svc.processor.process(named, received_at=time.monotonic())
        read_for_a_click = queries.of_enrollments()
        journeys.svc.processor.process(unnamed, received_at=time.monotonic())
        read_for_a_send = queries.of_enrollments() - read_for_a_click
    finally:
        queries.stop()

    assert read_for_a_click == 1  # the sample journeys' waits name clicks
    assert read_for_a_send == 0
    assert _enrollment().state == "pause"


def test_a_process_that_read_the_journeys_before_a_publish_sees_the_new_exit(
    client, journeys, clock, tmp_path
):
    journeys.publish(tmp_path, signal=SIGNAL.format(exits=""))
    other = bootstrap.build(settings(), clock)  # another worker, its view read now
    assert not other.journeys.library.ever_wanted("journey_entered", time.monotonic())

    leave = "exit_when:\n  - {event: journey_entered, where: {journey: onboarding}}"
    journeys.publish(tmp_path, signal=SIGNAL.format(exits=leave))
    track(client, type="demo_requested", email="ada@example.com")
    journeys.settle()  # Ada enters the new version, in this process
    assert _enrollment().journey_version == 2
    clock.advance(minutes=1)
    entered = _append(journeys.svc, "journey_entered", journey="onboarding")

    other.processor.process(entered, received_at=time.monotonic())

    assert _enrollment().state == "exited"
    assert _enrollment().end_reason == "exit goal: journey_entered"
