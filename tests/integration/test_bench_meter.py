"""bench/cost.py prices what bench/meter.py counts: checked here against calls counted by hand,
on the test engine, so a wrong count cannot hide behind a plausible dollar figure."""

from __future__ import annotations

import boto3
import pytest

from bench.meter import Meter
from bench.pricing import Usage, item_bytes
from chalicelib.store import tables
from tests.builders import lead, post_json

TABLE = "bench-meter-hand-counted"


@pytest.fixture
def meter(aws):
    meter = Meter().install()
    yield meter
    meter.uninstall()


@pytest.fixture
def table(aws):
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield
    client.delete_table(TableName=TABLE)


def item(pk: str, size: int) -> dict:
    """An item of exactly `size` bytes as DynamoDB counts them."""
    body = {"pk": {"S": pk}, "blob": {"S": ""}}
    body["blob"] = {"S": "x" * (size - item_bytes(body))}
    assert item_bytes(body) == size
    return body


def test_units_and_requests_match_a_hand_count(meter, table):
    ddb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    queue = sqs.create_queue(QueueName="bench-meter-hand-counted")["QueueUrl"]
    mark = meter.mark()
    with meter.acting("by hand"):
        ddb.put_item(TableName=TABLE, Item=item("a", 1500))  # 2 KB started: 2 WRU
        ddb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})  # eventual: 0.5 RRU
        ddb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}}, ConsistentRead=True)  # 1 RRU
        ddb.transact_write_items(  # two 100-byte items in a transaction: 2 x 1 x 2 = 4 WRU
            TransactItems=[{"Put": {"TableName": TABLE, "Item": item(k, 100)}} for k in "bc"]
        )
        with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
            ddb.put_item(  # refused, and still billed: 1 WRU
                TableName=TABLE, Item=item("a", 100), ConditionExpression="attribute_not_exists(pk)"
            )
        sqs.send_message_batch(  # one request, three messages
            QueueUrl=queue, Entries=[{"Id": str(n), "MessageBody": "{}"} for n in range(3)]
        )
    seen = meter.since(mark)
    assert [(r.service, r.operation) for r in seen] == [
        ("dynamodb", "PutItem"),
        ("dynamodb", "GetItem"),
        ("dynamodb", "GetItem"),
        ("dynamodb", "TransactWriteItems"),
        ("dynamodb", "PutItem"),
        ("sqs", "SendMessageBatch"),
    ]
    assert [r.write_units for r in seen] == [2.0, 0.0, 0.0, 4.0, 1.0, 0.0]
    assert [r.read_units for r in seen] == [0.0, 0.5, 1.0, 0.0, 0.0, 0.0]
    assert [r.failed for r in seen] == [False] * 4 + [True, False]
    assert seen[-1].messages == 3 and all(r.driver == "by hand" for r in seen)
    usage = Usage.of(seen)
    assert (usage.write_units, usage.read_units, usage.dynamodb_requests, usage.sqs_requests) == (
        7.0,
        1.5,
        5,
        1,
    )


def test_a_new_leads_form_post_is_one_transaction_billed_per_item(meter, client, svc):
    meter.watch(tables.connection().client)  # the fixture built it before the meter
    assert post_json(client, lead(email="warm-up@example.com")).status_code == 201
    mark = meter.mark()
    with meter.acting("api POST /forms"):
        assert post_json(client, lead(email="grace@example.com")).status_code == 201
    [call] = meter.since(mark)
    assert (call.operation, call.driver) == ("TransactWriteItems", "api POST /forms")
    assert set(call.tables) >= {svc.settings.table_prefix + "events"}
    # Each item of a transaction is billed twice, at least one unit each (more for large
    # items and index entries).
    assert call.write_units >= 2 * len(call.tables)


def test_a_batch_of_marks_is_billed_its_index_writes_too(meter, client, svc, clock):
    """Marks are PartiQL UPDATEs that take events out of the `pending` index: DynamoDB bills
    the table's unit and the index's for each (the embedded AWS reports the table's alone)."""
    from chalicelib.store import event_log
    from tests.builders import all_events

    for n in range(3):
        assert post_json(client, lead(email=f"m{n}@example.com")).status_code == 201
    pending = [e for e in all_events() if e.pending_shard is not None]
    assert len(pending) == 3
    events = meter.watch(tables.connection().client).meta.events  # made before the meter
    mark = meter.mark()
    try:
        with meter.acting("by hand"):
            event_log.complete_all(pending, clock.now())
    finally:
        events.unregister("before-parameter-build", unique_id=f"meter-b-{id(meter)}")
        events.unregister("after-call", unique_id=f"meter-a-{id(meter)}")
    (request,) = meter.since(mark)
    assert request.operation == "BatchExecuteStatement"
    assert request.write_units == 3 * (1 + 1)  # each small event, and its index entry
