"""The embedded AWS parses DynamoDB requests quickly (emulator_main._quicken_json) and still
answers as DynamoDB does: a transaction over 4 MB is refused, a body that is not JSON is a
SerializationException, and non-ASCII values come back as written."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.local import emulator
from chalicelib.local.emulator_main import _Digest
from chalicelib.store import wire

TABLE = "emulator-requests"


@pytest.fixture
def dynamodb(aws: emulator.Emulator):
    aws.reset()
    client = boto3.client("dynamodb", endpoint_url=aws.endpoint, region_name="us-east-1")
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def test_a_transaction_over_four_megabytes_is_refused_and_writes_nothing(dynamodb) -> None:
    big = "x" * 390_000  # each item under DynamoDB's 400 KB, eleven of them over 4 MB
    assert "4MB" in _refused(dynamodb, [big] * 11)


def test_a_compact_body_under_the_cap_that_grows_past_it_is_measured_and_refused(dynamodb) -> None:
    """Our client writes UTF-8 (é is two bytes, six escaped): a 1.5 MB body is more than a
    fifth of the cap, so it is measured, written out as DynamoDB's limit counts it: refused."""
    wire.quicken(dynamodb)
    _refused(dynamodb, ["é" * 190_000] * 4)  # 380 KB an item in UTF-8


def _refused(dynamodb, bodies: list[str]) -> str:
    """Put one item per body in one transaction: refused as invalid, nothing written; the
    error's message."""
    items = [
        {"Put": {"TableName": TABLE, "Item": {"id": {"S": f"item-{i}"}, "body": {"S": body}}}}
        for i, body in enumerate(bodies)
    ]
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=items)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert dynamodb.scan(TableName=TABLE)["Count"] == 0
    return refused.value.response["Error"]["Message"]


def test_a_small_transaction_is_written_with_its_chinese_text(dynamodb) -> None:
    items = [
        {"Put": {"TableName": TABLE, "Item": {"id": {"S": f"ct-{i}"}, "name": {"S": "王芳😀"}}}}
        for i in range(3)
    ]
    dynamodb.transact_write_items(TransactItems=items)
    got = dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "ct-1"}}, ConsistentRead=True)
    assert got["Item"]["name"]["S"] == "王芳😀"


def test_a_body_that_is_not_json_is_a_serialization_error(aws: emulator.Emulator, dynamodb) -> None:
    request = urllib.request.Request(
        aws.endpoint,
        data=b'{"TableName": "emulator-requests", "Key": {',
        headers={
            "X-Amz-Target": "DynamoDB_20120810.GetItem",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=leadflow-local/20260101/us-east-1/"
            "dynamodb/aws4_request, SignedHeaders=host, Signature=local",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(request, timeout=10)
    assert answered.value.code == 400
    assert "SerializationException" in json.loads(answered.value.read())["__type"]


def test_a_transaction_retried_with_its_token_is_not_applied_twice(dynamodb) -> None:
    """The emulator keeps a digest of each transaction's request against its token."""
    counter = {
        "Update": {
            "TableName": TABLE,
            "Key": {"id": {"S": "counter"}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    dynamodb.transact_write_items(TransactItems=[counter], ClientRequestToken="retry-1")
    dynamodb.transact_write_items(TransactItems=[counter], ClientRequestToken="retry-1")
    got = dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "counter"}}, ConsistentRead=True)
    assert got["Item"]["n"]["N"] == "1"

    other = {"Update": {**counter["Update"], "Key": {"id": {"S": "another"}}}}
    with pytest.raises(ClientError) as mismatched:
        dynamodb.transact_write_items(TransactItems=[other], ClientRequestToken="retry-1")
    assert mismatched.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"


def test_a_retry_that_asks_for_capacity_is_told_it_and_one_that_does_not_is_not(dynamodb) -> None:
    """Item sizes are kept for a transaction that asked for its capacity, and only then."""
    put = {"Put": {"TableName": TABLE, "Item": {"id": {"S": "sized"}, "x": {"S": "x" * 5000}}}}
    for token, asked in (("retry-asked", {"ReturnConsumedCapacity": "TOTAL"}), ("retry-not", {})):
        first = dynamodb.transact_write_items(
            TransactItems=[put], ClientRequestToken=token, **asked
        )
        again = dynamodb.transact_write_items(
            TransactItems=[put], ClientRequestToken=token, **asked
        )
        if asked:
            assert first["ConsumedCapacity"][0]["WriteCapacityUnits"] == 2 * 5
            assert again["ConsumedCapacity"][0]["ReadCapacityUnits"] == 2 * 2  # read, 4 KB units
        else:
            assert "ConsumedCapacity" not in first and "ConsumedCapacity" not in again


def test_a_digest_equals_only_a_request_with_the_same_content() -> None:
    request = {"TransactItems": [{"Put": {"Item": {"id": {"S": "王"}}}}], "Limit": 1}
    kept = _Digest(request)
    assert kept == {"Limit": 1, "TransactItems": [{"Put": {"Item": {"id": {"S": "王"}}}}]}
    assert kept != {**request, "Limit": 2}
    assert kept != {"TransactItems": [{"Put": {"Item": {"id": {"S": "\ud800"}}}}]}
    assert kept != "not a request"
