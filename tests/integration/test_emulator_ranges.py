"""The emulator's index Queries answer exactly what DynamoDB would, now that they read only the
range asked for (chalicelib/local/emulator_ranges.py): checked against the items themselves
after puts, moves between partitions, re-dated items and deletes."""

from __future__ import annotations

import random
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

TABLE = "ranges-test"
SHARDS = ("s0", "s1", "s2")


@pytest.fixture
def table(aws) -> Any:
    resource = boto3.resource("dynamodb", endpoint_url=aws.endpoint, region_name="us-east-1")
    created = resource.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "shard", "AttributeType": "S"},
            {"AttributeName": "due", "AttributeType": "S"},
            {"AttributeName": "rank", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "due",
                "KeySchema": [
                    {"AttributeName": "shard", "KeyType": "HASH"},
                    {"AttributeName": "due", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "rank",
                "KeySchema": [
                    {"AttributeName": "shard", "KeyType": "HASH"},
                    {"AttributeName": "rank", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )
    yield created
    created.delete()


def _query_all(table: Any, index: str, condition: Any, limit: int | None = None) -> list[str]:
    """Every page, as PynamoDB reads them: ids in the order DynamoDB returns them."""
    ids: list[str] = []
    kwargs: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": condition}
    if limit:
        kwargs["Limit"] = limit
    while True:
        page = table.query(**kwargs)
        ids += [item["id"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return ids
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_index_range_queries_match_the_items_after_puts_moves_and_deletes(table):
    rng = random.Random(7)
    items: dict[str, dict[str, Any]] = {}
    for i in range(300):
        item = {
            "id": f"e{i:03d}",
            "shard": rng.choice(SHARDS),
            "due": f"2026-12-{rng.randint(1, 28):02d}",
        }
        item["rank"] = rng.randint(-50, 50)
        items[item["id"]] = item
        table.put_item(Item=item)
    for key in rng.sample(sorted(items), 60):  # moved to another shard and re-dated
        items[key] = {**items[key], "shard": rng.choice(SHARDS), "due": "2026-12-15"}
        table.put_item(Item=items[key])
    for key in rng.sample(sorted(items), 40):
        table.delete_item(Key={"id": key})
        del items[key]
    for key in rng.sample(sorted(items), 30):  # out of the indexes: sparse, as our due index
        table.update_item(
            Key={"id": key}, UpdateExpression="REMOVE #s", ExpressionAttributeNames={"#s": "shard"}
        )
        del items[key]["shard"]

    def expected(index: str, shard: str, keep: Any) -> list[str]:
        members = [i for i in items.values() if i.get("shard") == shard and keep(i[index])]
        return [i["id"] for i in sorted(members, key=lambda i: (i[index], i["id"]))]

    day, rank = "2026-12-15", 7
    for shard in SHARDS:
        checks = [
            ("due", Key("due").lte(day), lambda v: v <= day),
            ("due", Key("due").lt(day), lambda v: v < day),
            ("due", Key("due").gte(day), lambda v: v >= day),
            ("due", Key("due").gt(day), lambda v: v > day),
            ("due", Key("due").eq(day), lambda v: v == day),
            ("due", Key("due").between("2026-12-03", day), lambda v: "2026-12-03" <= v <= day),
            ("due", Key("due").begins_with("2026-12-1"), lambda v: v.startswith("2026-12-1")),
            ("rank", Key("rank").lte(rank), lambda v: v <= rank),
            ("rank", Key("rank").gt(-rank), lambda v: v > -rank),
            ("rank", Key("rank").between(-rank, rank), lambda v: -rank <= v <= rank),
        ]
        for index, condition, keep in checks:
            want = expected(index, shard, keep)
            assert _query_all(table, index, Key("shard").eq(shard) & condition) == want
            assert _query_all(table, index, Key("shard").eq(shard) & condition, limit=7) == want
