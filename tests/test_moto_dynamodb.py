"""The embedded DynamoDB behaves as DynamoDB does where Leadflow relies on it (moto_dynamodb)."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def table() -> tuple[Any, Any, str]:
    dynamodb = boto3.client("dynamodb")
    name = f"check-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return dynamodb, boto3.client("dynamodbstreams"), name


def _item(pk: str, sk: str, **more: dict[str, str]) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **more}


def _stream_keys(streams: Any, dynamodb: Any, name: str) -> list[str]:
    arn = dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    return [r["dynamodb"]["Keys"]["sk"]["S"] for r in records]


def test_a_cancelled_transaction_writes_nothing_and_streams_nothing(table):
    dynamodb, streams, name = table
    dynamodb.put_item(TableName=name, Item=_item("c1", "taken"))
    with pytest.raises(ClientError) as failure:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": _item("c1", "new")}},
                {
                    "Put": {
                        "TableName": name,
                        "Item": _item("c1", "taken"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    reasons = [r["Code"] for r in failure.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert "Item" not in dynamodb.get_item(TableName=name, Key=_item("c1", "new"))
    assert _stream_keys(streams, dynamodb, name) == ["taken"]


def test_a_write_that_fails_midway_is_undone(table):
    dynamodb, streams, name = table
    dynamodb.put_item(TableName=name, Item=_item("c1", "count", n={"S": "not a number"}))
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": _item("c1", "new")}},
                {
                    "Update": {
                        "TableName": name,
                        "Key": _item("c1", "count"),
                        "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
    assert "Item" not in dynamodb.get_item(TableName=name, Key=_item("c1", "new"))
    kept = dynamodb.get_item(TableName=name, Key=_item("c1", "count"))["Item"]
    assert kept["n"] == {"S": "not a number"}
    assert _stream_keys(streams, dynamodb, name) == ["count"]


def test_a_query_reads_its_own_key_in_order(table):
    dynamodb, _, name = table
    for pk, sk in [("c2", "b"), ("c1", "b"), ("c2", "a"), ("c1", "c"), ("c1", "a")]:
        dynamodb.put_item(TableName=name, Item=_item(pk, sk))

    def query(forward: bool) -> list[str]:
        answer = dynamodb.query(
            TableName=name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "c1"}},
            ScanIndexForward=forward,
        )
        return [i["sk"]["S"] for i in answer["Items"]]

    assert query(True) == ["a", "b", "c"]
    assert query(False) == ["c", "b", "a"]
