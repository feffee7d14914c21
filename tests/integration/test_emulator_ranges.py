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


def _query_all(
    table: Any, index: str, condition: Any, limit: int | None = None, forward: bool = True
) -> list[str]:
    """Every page, as PynamoDB reads them: ids in the order DynamoDB returns them."""
    ids: list[str] = []
    kwargs: dict[str, Any] = {
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ScanIndexForward": forward,
    }
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
            backwards = _query_all(
                table, index, Key("shard").eq(shard) & condition, limit=5, forward=False
            )
            assert sorted(backwards) == sorted(want) and len(backwards) == len(want)


@pytest.fixture
def members(aws) -> Any:
    """A table whose partitions are sorted by a sort key, like segment members and waves."""
    resource = boto3.resource("dynamodb", endpoint_url=aws.endpoint, region_name="us-east-1")
    created = resource.create_table(
        TableName=f"{TABLE}-members",
        KeySchema=[
            {"AttributeName": "group", "KeyType": "HASH"},
            {"AttributeName": "member", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "group", "AttributeType": "S"},
            {"AttributeName": "member", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    yield created
    created.delete()


def _pages(table: Any, group: str, condition: Any, limit: int, forward: bool = True) -> list[str]:
    found: list[str] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": Key("group").eq(group) & condition,
        "ScanIndexForward": forward,
    }
    while True:
        page = table.query(Limit=limit, **kwargs)
        found += [item["member"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_table_range_queries_match_the_items_after_puts_overwrites_deletes_and_a_rollback(
    members,
):
    rng = random.Random(11)
    groups: dict[str, set[str]] = {"a": set(), "b": set()}
    with members.batch_writer(overwrite_by_pkeys=["group", "member"]) as batch:
        for i in range(400):
            group, member = rng.choice("ab"), f"m{rng.randint(0, 999):04d}"
            groups[group].add(member)
            batch.put_item(Item={"group": group, "member": member, "n": i})
    for group in "ab":
        for member in rng.sample(sorted(groups[group]), 30):
            members.delete_item(Key={"group": group, "member": member})
            groups[group].discard(member)
        for member in rng.sample(sorted(groups[group]), 20):  # an overwrite keeps its place
            members.put_item(Item={"group": group, "member": member, "n": -1})
    client = members.meta.client
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(  # a new member and a failed condition: neither stays
            TransactItems=[
                {"Put": {"TableName": members.name, "Item": {"group": "a", "member": "m9999"}}},
                {
                    "Put": {
                        "TableName": members.name,
                        "Item": {"group": "b", "member": sorted(groups["b"])[0]},
                        "ConditionExpression": "attribute_not_exists(#m)",
                        "ExpressionAttributeNames": {"#m": "member"},
                    }
                },
            ]
        )
    for group, inside in groups.items():
        ordered = sorted(inside)
        after = ordered[len(ordered) // 3]
        assert _pages(members, group, Key("member").gt(after), 25) == [
            m for m in ordered if m > after
        ]
        assert _pages(members, group, Key("member").lte(after), 7) == [
            m for m in ordered if m <= after
        ]
        assert _pages(members, group, Key("member").between("m0100", "m0500"), 50) == [
            m for m in ordered if "m0100" <= m <= "m0500"
        ]
        assert _pages(members, group, Key("member").lt(after), 9, forward=False) == [
            m for m in reversed(ordered) if m < after
        ]
        assert _pages(members, group, Key("member").begins_with("m01"), 4) == [
            m for m in ordered if m.startswith("m01")
        ]
