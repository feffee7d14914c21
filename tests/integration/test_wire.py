"""The client writes and reads DynamoDB's item operations as JSON directly (store/wire.py):
every request and answer of a lead's whole way, from form to thank-you email and a report,
is the same as botocore's own walk makes of it (the request's JSON written more compactly)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.store import tables, wire
from tests.builders import lead, post_json


class Witness:
    """Beside each fast request and answer, botocore's own; records where they differ."""

    def __init__(self, client: Any) -> None:
        self.serializer = client._serializer
        self.parsers = client._endpoint._response_parser_factory
        self.botocore_serializer = self.serializer.botocore
        self.botocore_parsers = self.parsers.botocore
        self.seen: Counter[str] = Counter()
        self.differences: list[str] = []

    def install(self, patch: pytest.MonkeyPatch) -> None:
        fast_serialize = self.serializer.serialize_to_request

        def serialize(parameters: dict[str, Any], operation: Any) -> dict[str, Any]:
            made = fast_serialize(parameters, operation)
            expected = self.botocore_serializer.serialize_to_request(parameters, operation)
            self.seen[f"request {operation.name}"] += 1
            if _as_json(made) != _as_json(expected):
                self.differences.append(f"{operation.name}: {made!r} != {expected!r}")
            return made

        fast_create = self.parsers.create_parser

        def create_parser(protocol: str) -> Any:
            fast, slow = fast_create(protocol), self.botocore_parsers.create_parser(protocol)

            class Both:
                def parse(_, response: dict[str, Any], shape: Any) -> dict[str, Any]:
                    made = fast.parse(response, shape)
                    expected = slow.parse(response, shape)
                    self.seen[f"answer {getattr(shape, 'name', None)}"] += 1
                    if made != expected:
                        self.differences.append(f"{shape.name}: {made!r} != {expected!r}")
                    return made

            return Both()

        patch.setattr(self.serializer, "serialize_to_request", serialize)
        patch.setattr(self.parsers, "create_parser", create_parser)


def _as_json(request: dict[str, Any]) -> dict[str, Any]:
    """A request with its body read: written compactly in UTF-8 (orjson) or spaced and
    escaped (botocore), it is the same JSON."""
    return {**request, "body": json.loads(request["body"])}


@pytest.fixture
def witness(svc) -> Any:
    found = Witness(tables.connection().client)
    with pytest.MonkeyPatch.context() as patch:
        found.install(patch)
        yield found


def test_a_leads_whole_way_reads_and_writes_what_botocore_would(client, journeys, witness):
    assert post_json(client, lead()).status_code == 201
    assert post_json(client, lead()).status_code in (200, 201)  # the same person again
    journeys.settle()
    journeys.clock.advance(days=3)
    journeys.settle()
    ada = journeys.svc.contacts.find_by_key("email:ada@example.com")
    assert journeys.svc.events.timeline(ada, limit=50)
    assert client.http.get("/reports/funnel").status_code in (200, 401)

    assert witness.differences == []
    operations = {k.split()[1] for k in witness.seen if k.startswith("request")}
    assert {"TransactWriteItems", "Query", "GetItem", "UpdateItem"} <= operations
    assert operations & wire.ITEM_OPERATIONS == operations - {"DescribeTable"}


def test_binary_values_errors_and_cancellations_read_as_botocore_reads_them(svc, witness):
    client = tables.connection().client
    name = next(t for t in client.list_tables()["TableNames"] if t.endswith("counters"))
    item = {"key": {"S": "wire-binary"}, "blob": {"B": b"\x00\xff leadflow"}}
    client.put_item(TableName=name, Item=item)
    got = client.get_item(TableName=name, Key={"key": {"S": "wire-binary"}}, ConsistentRead=True)
    assert got["Item"]["blob"]["B"] == b"\x00\xff leadflow"  # base64 both ways, by botocore

    with pytest.raises(ClientError) as refused:
        client.put_item(
            TableName=name,
            Item=item,
            ConditionExpression="attribute_not_exists(#k)",
            ExpressionAttributeNames={"#k": "key"},
        )
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": name,
                        "Item": {"key": {"S": "wire-binary"}},
                        "ConditionExpression": "attribute_not_exists(#k)",
                        "ExpressionAttributeNames": {"#k": "key"},
                    }
                }
            ]
        )
    assert cancelled.value.response["CancellationReasons"][0]["Code"] == "ConditionalCheckFailed"
    assert witness.differences == []
