"""Run by tests/integration/test_emulator_writes.py with ministack's Python (argument: the
folder of the emulator's patches): the same write requests with ministack alone, with the size
twins, and with the write patches too, printing every answer of each as JSON."""

import json
import sys

sys.path.insert(0, sys.argv[1])
import emulator_sizes
import emulator_writes
from ministack.services import dynamodb as d
from ministack_requests import call


def put(table, item, cond=None, values=None, names=None):
    p = {"TableName": table, "Item": item}
    if cond:
        p["ConditionExpression"] = cond
    if values is not None:
        p["ExpressionAttributeValues"] = values
    if names is not None:
        p["ExpressionAttributeNames"] = names
    return {"Put": p}


def S(v):
    return {"S": v}


def N(v):
    return {"N": v}


def requests():
    yield (
        "CreateTable",
        {
            "TableName": "people",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "shard", "AttributeType": "S"},
                {"AttributeName": "due", "AttributeType": "N"},
            ],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "due",
                    "Projection": {"ProjectionType": "ALL"},
                    "KeySchema": [
                        {"AttributeName": "shard", "KeyType": "HASH"},
                        {"AttributeName": "due", "KeyType": "RANGE"},
                    ],
                }
            ],
        },
    )
    yield (
        "CreateTable",
        {
            "TableName": "keys",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "key", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "key", "KeyType": "HASH"}],
        },
    )
    new = "(attribute_not_exists (#0) OR #1 = :0)"
    names = {"#0": "key", "#1": "owner"}
    for rc in (None, "NONE", "TOTAL", "INDEXES"):
        extra = {} if rc is None else {"ReturnConsumedCapacity": rc}
        tag = rc or "absent"
        items = []
        for i in range(4):
            pid = f"{tag}-{i}"
            items.append(
                put("keys", {"key": S(f"email:{pid}"), "owner": S(pid)}, new, {":0": S(pid)}, names)
            )
            items.append(
                put(
                    "people",
                    {
                        "id": S(pid),
                        "shard": S("s1"),
                        "due": N(f"{i}.5"),
                        "props": {"M": {"n": N("1"), "l": {"L": [S("x"), N("2")]}}},
                    },
                )
            )
        yield (
            "TransactWriteItems",
            {"TransactItems": items, "ClientRequestToken": f"tok-{tag}", **extra},
        )
        # the same token and request again: a replay; then with another ask: a mismatch
        yield (
            "TransactWriteItems",
            {"TransactItems": items, "ClientRequestToken": f"tok-{tag}", **extra},
        )
        yield (
            "TransactWriteItems",
            {
                "TransactItems": items,
                "ClientRequestToken": f"tok-{tag}",
                "ReturnConsumedCapacity": "INDEXES" if rc != "INDEXES" else "TOTAL",
            },
        )
        # an existing key owned by another: the condition fails (and returns the old item)
        bad = put(
            "keys",
            {"key": S(f"email:{tag}-0"), "owner": S("someone")},
            new,
            {":0": S("someone")},
            names,
        )
        bad["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        yield "TransactWriteItems", {"TransactItems": [bad], **extra}
        # the same owner again: holds against the stored item
        yield (
            "TransactWriteItems",
            {
                "TransactItems": [
                    put(
                        "keys",
                        {"key": S(f"email:{tag}-0"), "owner": S(f"{tag}-0"), "n": N("7")},
                        new,
                        {":0": S(f"{tag}-0")},
                        names,
                    )
                ],
                **extra,
            },
        )
        # malformed conditions: bounds the wrong way round, an unknown function; and one
        # that holds on no item (begins_with of a number is false, not an error)
        for condition, values in (
            ("#k BETWEEN :hi AND :lo", {":lo": N("1"), ":hi": N("2")}),
            ("no_such_function(#k)", None),
            ("begins_with(#k, :lo)", {":lo": N("1")}),
        ):
            yield (
                "TransactWriteItems",
                {
                    "TransactItems": [
                        put(
                            "keys",
                            {"key": S(f"x-{tag}")},
                            condition,
                            values,
                            {"#k": "key"},
                        )
                    ],
                    **extra,
                },
            )
        # a condition on a canonicalised number, new and existing, two actions alike
        yield (
            "TransactWriteItems",
            {
                "TransactItems": [
                    put(
                        "keys",
                        {"key": S(f"n1-{tag}"), "v": N("1")},
                        "attribute_not_exists(v) OR v = :v",
                        {":v": N("001.000")},
                    ),
                    put(
                        "keys",
                        {"key": S(f"n2-{tag}"), "v": N("1")},
                        "attribute_not_exists(v) OR v = :v",
                        {":v": N("001.000")},
                    ),
                ],
                **extra,
            },
        )
        yield (
            "TransactWriteItems",
            {
                "TransactItems": [
                    put(
                        "keys", {"key": S(f"n1-{tag}"), "v": N("2")}, "v = :v", {":v": N("001.000")}
                    ),
                    put("keys", {"key": S(f"n2-{tag}"), "v": N("2")}, "v = :v", {":v": N("1.5")}),
                ],
                **extra,
            },
        )
        # updates (moving an index entry), a delete, a condition check
        yield (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {
                        "Update": {
                            "TableName": "people",
                            "Key": {"id": S(f"{tag}-1")},
                            "UpdateExpression": "SET #d = :d, #b = :b",
                            "ConditionExpression": "attribute_exists(id)",
                            "ExpressionAttributeNames": {"#d": "due", "#b": "big"},
                            "ExpressionAttributeValues": {":d": N("9"), ":b": S("y" * 3000)},
                        }
                    },
                    {"Delete": {"TableName": "people", "Key": {"id": S(f"{tag}-2")}}},
                    {
                        "ConditionCheck": {
                            "TableName": "people",
                            "Key": {"id": S(f"{tag}-3")},
                            "ConditionExpression": "attribute_exists(id)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": "people",
                            "Key": {"id": S(f"{tag}-new")},
                            "UpdateExpression": "SET #s = :s, #d = :d",
                            "ConditionExpression": "attribute_not_exists(id)",
                            "ExpressionAttributeNames": {"#s": "shard", "#d": "due"},
                            "ExpressionAttributeValues": {":s": S("s1"), ":d": N("3")},
                        }
                    },
                ],
                **extra,
            },
        )
        # an item over 400 KB
        yield (
            "TransactWriteItems",
            {
                "TransactItems": [put("people", {"id": S(f"huge-{tag}"), "x": S("z" * 410_000)})],
                **extra,
            },
        )
        yield (
            "BatchWriteItem",
            {
                "RequestItems": {
                    "people": [
                        {
                            "PutRequest": {
                                "Item": {
                                    "id": S(f"b-{tag}-{i}"),
                                    "shard": S("s2"),
                                    "due": N(str(i)),
                                }
                            }
                        }
                        for i in range(3)
                    ]
                    + [{"DeleteRequest": {"Key": {"id": S(f"{tag}-0")}}}]
                },
                **extra,
            },
        )
    for table in ("people", "keys"):
        yield "Scan", {"TableName": table}
        yield (
            "Query",
            {
                "TableName": "people",
                "IndexName": "due",
                "KeyConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "shard"},
                "ExpressionAttributeValues": {":s": S("s1")},
            },
        )


def answers():
    d.reset()
    out = []
    for op, body in requests():
        status, answer = call(op, body)
        if op == "CreateTable":
            answer = status
        out.append([op, status, answer])
    return out


before = answers()
emulator_sizes.install()
sized = answers()
emulator_writes.install()
after = answers()
print(json.dumps({"before": before, "sized": sized, "after": after}))
