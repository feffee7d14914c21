"""The event pipeline: each stored event processed exactly once, in order, nothing lost."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from chalicelib import bootstrap, ids
from chalicelib.events import FORM_SUBMITTED, Event
from chalicelib.pipeline import stream, sweeper
from chalicelib.store.event_log import EventStore
from chalicelib.store.models import EventModel
from tests.builders import DynamoCalls, all_events, lead, post_json
from tests.conftest import settings

# What the pipeline derives from a fact (journeys, scoring, rules, hand-offs), not the facts.
DERIVED = {"journey", "scoring", "rules", "sales", "segments"}


class Audit:
    """A handler that appends one `audited` event per form submission, as the handler contract
    says (an id derived from the event, appended once), and can be made to die."""

    def __init__(self, die_on: set[int] | None = None, always_die: bool = False) -> None:
        self.calls: list[str] = []
        self.die_on = die_on or set()
        self.always_die = always_die
        self.events: EventStore | None = None

    def __call__(self, event: Event, ctx) -> None:
        self.calls.append(event.event_id)
        if self.always_die or len(self.calls) in self.die_on:
            raise RuntimeError("consumer died")
        assert self.events is not None
        self.events.append(
            Event(
                contact_id=event.contact_id,
                type="audited",
                source="test",
                event_id=ids.derived_event_id(event.occurred_at, "audit", event.event_id),
                occurred_at=event.occurred_at,
                caused_by=event.event_id,
            )
        )


@pytest.fixture
def audited(svc, clock):
    """Rebuild the services with the audit handler in the registry."""
    audit = Audit()
    services = bootstrap.build(settings(), clock, {FORM_SUBMITTED: (audit,)})
    audit.events = services.events
    bootstrap.reset(services)
    return audit, services


def _stream_records() -> list[dict]:
    client = boto3.client("dynamodbstreams")
    table = boto3.client("dynamodb").describe_table(TableName=EventModel.Meta.table_name)
    arn = table["Table"]["LatestStreamArn"]
    records = []
    for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = client.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += client.get_records(ShardIterator=iterator)["Records"]
    return records


def _of_type(kind: str) -> list[EventModel]:
    return [e for e in all_events() if e.type == kind]


def _submit_three(client) -> None:
    for name in ("ada", "bob", "cy"):
        assert post_json(client, lead(email=f"{name}@example.com")).status_code == 201


def test_consumer_dying_mid_batch_loses_nothing_and_repeats_nothing(client, audited):
    audit, services = audited
    audit.die_on = {2}
    _submit_three(client)
    batch = _stream_records()

    first = stream.handle_batch(batch, services.processor)
    failed_at = first["batchItemFailures"][0]["itemIdentifier"]
    # Lambda retries from the reported record; here the whole batch comes back, as after a
    # timeout, to show that records already done are not done again.
    second = stream.handle_batch(batch, services.processor)

    assert failed_at == batch[1]["dynamodb"]["SequenceNumber"]
    assert second == {"batchItemFailures": []}
    submitted = _of_type("form_submitted")
    assert sorted(e.caused_by for e in _of_type("audited")) == sorted(e.event_id for e in submitted)
    assert all(e.processed_at is not None and e.pending_shard is None for e in submitted)


def test_replaying_a_committed_batch_changes_nothing(client, audited):
    _audit, services = audited
    _submit_three(client)
    batch = _stream_records()

    stream.handle_batch(batch, services.processor)
    before = {e.event_id for e in all_events()}
    stream.handle_batch(batch, services.processor)

    assert {e.event_id for e in all_events()} == before
    assert len(_of_type("audited")) == 3


def test_a_crash_between_handler_and_commit_is_retried_without_a_double_effect(
    client, audited, pipeline
):
    audit, services = audited
    audit.die_on = {1}
    pipeline.services = services
    assert post_json(client, lead()).status_code == 201

    pipeline.drain()

    assert len(audit.calls) == 2
    assert len(_of_type("audited")) == 1


def test_the_sweeper_finishes_events_the_consumer_never_saw(client, audited, clock):
    _audit, services = audited
    _submit_three(client)

    young = sweeper.sweep(services.processor, timedelta(minutes=2))
    clock.advance(minutes=3)
    old = sweeper.sweep(services.processor, timedelta(minutes=2))
    emitted = sweeper.sweep(services.processor, timedelta(minutes=2))
    idle = sweeper.sweep(services.processor, timedelta(minutes=2))

    assert young.processed == 0
    assert old.processed == 3
    assert emitted.processed == 3  # the `audited` events are events too, and get processed
    assert idle.processed == 0
    assert len(_of_type("audited")) == 3
    assert all(e.pending_shard is None for e in all_events())


def test_a_poison_event_is_parked_after_max_attempts_and_others_flow(client, svc, clock):
    audit = Audit(always_die=True)
    services = bootstrap.build(settings(), clock, {"webinar_attended": (audit,)})
    client.http.post(
        "/events",
        headers={"Content-Type": "application/json"},
        body='{"type": "webinar_attended", "email": "poison@example.com"}',
    )
    assert post_json(client, lead()).status_code == 201
    clock.advance(minutes=5)

    reports = [sweeper.sweep(services.processor, timedelta(minutes=2)) for _ in range(6)]

    (poison,) = _of_type("webinar_attended")
    assert poison.failed is True
    assert poison.attempts == services.processor.max_attempts
    assert poison.pending_shard is None
    assert "consumer died" in poison.last_error
    assert reports[0].processed == 1
    assert sum(r.failed for r in reports) == services.processor.max_attempts


def _page_view(client, visitor: str, url: str):
    return client.http.post(
        "/events",
        headers={"Content-Type": "application/json"},
        body=f'{{"type": "page_viewed", "visitor_id": "{visitor}", "page_url": "{url}"}}',
    )


def test_anonymous_page_views_join_the_contact_when_the_visitor_submits(
    client, svc, pipeline, admin_key, clock
):
    assert _page_view(client, "v_visitor_0001", "https://www.example.com/").status_code == 202
    clock.advance(minutes=1)
    _page_view(client, "v_visitor_0001", "https://www.example.com/pricing")
    clock.advance(minutes=1)
    pipeline.drain()
    post_json(client, lead(visitor_id="v_visitor_0001"))
    pipeline.drain()

    view = client.http.get("/contacts?email=ada@example.com", headers={"X-Api-Key": admin_key})
    timeline = [e for e in view.json_body["contacts"][0]["timeline"] if e["source"] not in DERIVED]
    assert [e["type"] for e in timeline] == ["form_submitted", "page_viewed", "page_viewed"]
    assert timeline[2]["properties"]["url"] == "https://www.example.com/"


def test_a_visitor_event_after_identification_goes_straight_to_the_contact(
    client, svc, pipeline, clock
):
    post_json(client, lead(visitor_id="v_visitor_0002"))
    pipeline.drain()
    clock.advance(minutes=1)
    _page_view(client, "v_visitor_0002", "https://www.example.com/docs")
    pipeline.drain()

    contact_events = [
        e for e in all_events() if e.contact_id.startswith("ct_") and e.source not in DERIVED
    ]
    assert sorted(e.type for e in contact_events) == ["form_submitted", "page_viewed"]
    assert not [e for e in all_events() if e.contact_id.startswith("visitor:")]


def test_a_late_anonymous_event_is_forwarded_once(client, svc, pipeline, clock):
    _page_view(client, "v_visitor_0003", "https://www.example.com/a")
    post_json(client, lead(visitor_id="v_visitor_0003"))
    pipeline.drain()
    pipeline.drain()

    copies = [e for e in all_events() if e.contact_id.startswith("ct_") and e.type == "page_viewed"]
    assert len(copies) == 1


def test_a_batch_marks_its_processed_events_25_to_a_request(client, audited, clock):
    _audit, services = audited
    for n in range(30):
        assert post_json(client, lead(email=f"p{n}@example.com")).status_code == 201
    batch = _stream_records()
    with DynamoCalls() as calls:
        assert stream.handle_batch(batch, services.processor) == {"batchItemFailures": []}

    submitted = _of_type("form_submitted")
    assert len(submitted) == 30
    assert all(e.processed_at is not None and e.pending_shard is None for e in submitted)
    assert calls.count("BatchExecuteStatement") == 2  # 25 and 5
    assert calls.count("UpdateItem") == 0
    later = clock.now() + timedelta(days=1)
    assert [
        e
        for shard in services.events.all_shards()
        for e in services.events.pending_before(shard, later, 100)
        if e.type == "form_submitted"
    ] == []


def test_a_mark_never_brings_back_an_event_erased_before_it_was_written(client, audited, clock):
    from chalicelib.pipeline.marks import Marks

    _audit, services = audited
    _submit_three(client)
    marks = Marks(clock)
    for record in _stream_records():
        assert stream.handle_batch([record], services.processor, marks)["batchItemFailures"] == []
    assert marks.waiting() == 3 and all(e.pending_shard for e in _of_type("form_submitted"))
    erased = _of_type("form_submitted")[0]
    erased.delete()  # as an erasure request does, between processing and marking

    assert marks.flush() == 3

    left = _of_type("form_submitted")
    assert erased.event_id not in {e.event_id for e in left}
    assert len(left) == 2 and all(e.processed_at is not None for e in left)


def test_a_batch_counts_its_events_together_and_the_sweeper_counts_its_own(client, svc, clock):
    from chalicelib.reports.tally import ALL, SUBMISSIONS
    from chalicelib.store import tables
    from chalicelib.store.models import StatModel
    from chalicelib.store.stats import StatStore, shard_of

    for n in range(4):
        assert post_json(client, lead(email=f"c{n}@example.com")).status_code == 201
    records = _stream_records()
    client, counted = tables.connection().client, []

    def on_stats(params, model, **_) -> None:
        markers = [
            i["Put"]
            for i in params.get("TransactItems") or ()
            if "Put" in i and i["Put"]["TableName"] == StatModel.Meta.table_name
        ]
        if model.name == "TransactWriteItems" and markers:
            counted.append(len(markers))

    client.meta.events.register("before-parameter-build.dynamodb", on_stats)
    try:
        assert stream.handle_batch(records[:3], svc.processor) == {"batchItemFailures": []}
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", on_stats)
    shards = {shard_of(r["dynamodb"]["Keys"]["contact_id"]["S"]) for r in records[:3]}
    assert sum(counted) == 3  # the three events' markers
    assert len(counted) == len(shards)  # in one transaction per counters' shard
    clock.advance(seconds=svc.settings.sweep_grace_seconds + 1)
    sweeper.sweep(svc.processor, timedelta(seconds=svc.settings.sweep_grace_seconds))
    stream.handle_batch(records, svc.processor)  # a replay adds nothing

    day = clock.now().date()
    assert StatStore().range(ALL, day, day)[SUBMISSIONS] == 4


def test_a_failed_flush_leaves_each_event_to_be_counted_and_marked_once(client, svc, clock):
    """The engine down for one flush: the lane tries its records again (their handlers run
    again and count again), and the next flush writes each event's counts and mark once."""
    from botocore.exceptions import EndpointConnectionError

    from chalicelib.pipeline.marks import Marks
    from chalicelib.reports.tally import ALL, SUBMISSIONS
    from chalicelib.store import tables
    from chalicelib.store.outage import is_outage
    from chalicelib.store.stats import StatStore

    for n in range(2):
        assert post_json(client, lead(email=f"f{n}@example.com")).status_code == 201
    submitted = [r for r in _stream_records() if r["eventName"] == "INSERT"]
    marks = Marks(clock, size=100)
    for record in submitted:
        assert stream.handle_batch([record], svc.processor, marks)["batchItemFailures"] == []
    events = tables.connection().client.meta.events

    def down(**_) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    events.register_first("before-send.dynamodb.TransactWriteItems", down, unique_id="down")
    try:
        with pytest.raises(Exception) as refused:
            marks.flush()
        assert is_outage(refused.value)
    finally:
        events.unregister("before-send.dynamodb.TransactWriteItems", unique_id="down")
    for record in submitted:  # tried again, as a lane does after a failure
        assert stream.handle_batch([record], svc.processor, marks)["batchItemFailures"] == []

    assert marks.flush() == 2
    assert marks.flush() == 0
    day = clock.now().date()
    assert StatStore().range(ALL, day, day)[SUBMISSIONS] == 2
    assert all(e.pending_shard is None for e in _of_type("form_submitted"))


def test_a_poison_event_from_the_stream_is_parked_after_max_attempts(client, clock):
    """The stream hands the event as it was written each time: its failures are counted in
    the store, so the stream's own retries park it too, not only the sweeper's."""
    services = bootstrap.build(settings(), clock, {"webinar_attended": (Audit(always_die=True),)})
    client.http.post(
        "/events",
        headers={"Content-Type": "application/json"},
        body='{"type": "webinar_attended", "email": "poison@example.com"}',
    )
    batch = [r for r in _stream_records() if "webinar_attended" in str(r["dynamodb"]["NewImage"])]
    for _ in range(services.processor.max_attempts):
        assert stream.handle_batch(batch, services.processor)["batchItemFailures"]

    (poison,) = _of_type("webinar_attended")
    assert poison.attempts == services.processor.max_attempts
    assert poison.failed is True and poison.pending_shard is None
