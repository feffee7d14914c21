"""Run by tests/integration/test_emulator_disk.py with ministack's Python (argument: the folder
of the emulator's patches): the same requests, generated at random from a seed, to ministack
as it comes and to ministack with its tables on disk (and the other patches the emulator
installs), printing every answer of each as JSON; then, on disk, what expiry deletes."""

import json
import random
import sys
import tempfile

sys.path.insert(0, sys.argv[1])
import ministack_requests
from ministack.services import dynamodb as d


def call(op, body):
    """The answer, or only the status for a table's own operations."""
    status, answer = ministack_requests.call(op, body)
    if op in ("CreateTable", "DeleteTable", "UpdateTable", "UpdateTimeToLive"):
        return status
    return status, answer


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


def index(name, hash_key, range_key=None):
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return {"IndexName": name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}}


def table(name, keys, types, indexes=(), stream=False):
    body = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [
            {"AttributeName": k, "KeyType": kind}
            for k, kind in zip(keys, ("HASH", "RANGE")[: len(keys)], strict=True)
        ],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in types],
    }
    if indexes:
        body["GlobalSecondaryIndexes"] = list(indexes)
    if stream:
        body["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
    return body


SCHEMA = [
    table(
        "events",
        ("contact_id", "event_id"),
        [("contact_id", "S"), ("event_id", "S"), ("shard", "S"), ("due", "S"), ("rank", "N")],
        [
            index("pending", "shard", "event_id"),
            index("due", "shard", "due"),
            index("rank", "shard", "rank"),
            index("by_shard", "shard"),
        ],
        stream=True,
    ),
    table("versions", ("key", "version"), [("key", "S"), ("version", "N")]),
    table("keys", ("key",), [("key", "S")]),
]
CONTACTS = [f"ct_{i:02d}" for i in range(12)]
# Numbers a float cannot tell apart: sort keys, and bounds between them.
VERSIONS = [-2, 0.5, 1, "1.000000000000000005", 2, 10, 11, 100]
BOUNDS = ["1.00000000000000001", "0.99999999999999999"]
SHARDS = ["p0", "p1", "p2"]


def event_item(rng, contact, event):
    item = {"contact_id": S(contact), "event_id": S(event), "n": N(rng.randint(0, 9))}
    if rng.random() < 0.8:
        item["shard"] = S(rng.choice(SHARDS))
    if rng.random() < 0.7:
        item["due"] = S(f"2026-12-{rng.randint(1, 9):02d}")
    if rng.random() < 0.6:
        item["rank"] = N(rng.choice([-3, -1, 0, 0.5, 1, "1.000000000000000005", 2, 10, 1e3]))
    if rng.random() < 0.3:
        item["props"] = {"M": {"name": S(rng.choice(["王芳", "Ada", "é"])), "l": {"L": [N(1)]}}}
    return item


def key_condition(rng, name, values):
    low, high = (values[i] for i in sorted(rng.sample(range(len(values)), 2)))  # in order
    kind = rng.choice(["=", "<", "<=", ">", ">=", "between", "begins", "none"])
    if kind == "none":
        return "", {}
    if kind == "between":
        return " AND #r BETWEEN :lo AND :hi", {":lo": low, ":hi": high}
    if kind == "begins":
        return " AND begins_with(#r, :lo)", {":lo": S(low["S"][:-1]) if "S" in low else low}
    if rng.random() < 0.2:  # the value first: `:lo < #r` is `#r > :lo`
        return f" AND :lo {kind} #r", {":lo": low}
    return f" AND #r {kind} :lo", {":lo": low}


def requests(seed):
    rng = random.Random(seed)
    for body in SCHEMA:
        yield "CreateTable", body
    yield (
        "UpdateTimeToLive",
        {
            "TableName": "keys",
            "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires_at"},
        },
    )
    events = []
    for step in range(400):
        roll = rng.random()
        contact = rng.choice(CONTACTS)
        if roll < 0.35:
            event = f"ev_{rng.randint(0, 60):03d}"
            events.append((contact, event))
            yield "PutItem", {"TableName": "events", "Item": event_item(rng, contact, event)}
        elif roll < 0.45 and events:
            contact, event = rng.choice(events)
            expression = rng.choice(["SET #s = :s, #d = :d", "REMOVE #s", "SET #d = :d REMOVE #s"])
            values = {":s": S(rng.choice(SHARDS)), ":d": S(f"2026-12-{rng.randint(1, 9):02d}")}
            yield (
                "UpdateItem",
                {
                    "TableName": "events",
                    "Key": {"contact_id": S(contact), "event_id": S(event)},
                    "UpdateExpression": expression,
                    "ExpressionAttributeNames": {
                        n: a for n, a in (("#s", "shard"), ("#d", "due")) if n in expression
                    },
                    "ExpressionAttributeValues": {
                        k: v for k, v in values.items() if k in expression
                    }
                    or None,
                },
            )
        elif roll < 0.5 and events:
            contact, event = rng.choice(events)
            yield (
                "DeleteItem",
                {
                    "TableName": "events",
                    "Key": {"contact_id": S(contact), "event_id": S(event)},
                    "ReturnValues": "ALL_OLD",
                },
            )
        elif roll < 0.55:
            items = [
                {"Put": {"TableName": "events", "Item": event_item(rng, c, f"tx_{step}_{i}")}}
                for i, c in enumerate(rng.sample(CONTACTS, 3))
            ]
            items.append(
                {
                    "Put": {
                        "TableName": "keys",
                        "Item": {"key": S(f"email:{contact}"), "owner": S(contact)},
                        "ConditionExpression": "attribute_not_exists(#k) OR #o = :o",
                        "ExpressionAttributeNames": {"#k": "key", "#o": "owner"},
                        "ExpressionAttributeValues": {":o": S(contact)},
                    }
                }
            )
            yield "TransactWriteItems", {"TransactItems": items}
        elif roll < 0.6:
            writes = [
                {
                    "PutRequest": {
                        "Item": {
                            "key": S(f"k{rng.randint(0, 30)}"),
                            "expires_at": N(rng.choice([100, 2_000_000_000])),
                        }
                    }
                }
                for _ in range(4)
            ]
            writes.append({"DeleteRequest": {"Key": {"key": S(f"k{rng.randint(0, 30)}")}}})
            unique = {
                json.dumps(
                    w.get("PutRequest", w.get("DeleteRequest"))[
                        "Item" if "PutRequest" in w else "Key"
                    ]["key"]
                ): w
                for w in writes
            }
            yield "BatchWriteItem", {"RequestItems": {"keys": list(unique.values())}}
        elif roll < 0.65:
            key = f"v{rng.randint(0, 3)}"
            yield (
                "PutItem",
                {
                    "TableName": "versions",
                    "Item": {
                        "key": S(key),
                        "version": N(rng.choice(VERSIONS)),
                        "body": S("x" * rng.randint(0, 50)),
                    },
                },
            )
        elif roll < 0.66:
            yield from index_renewed(rng)
        elif roll < 0.68:
            yield from partiql(rng, contact)
        elif roll < 0.8:
            yield from query(rng)
        elif roll < 0.9:
            yield from scan(rng)
        else:
            keys = [
                {"contact_id": S(c), "event_id": S(e)}
                for c, e in rng.sample(events, min(5, len(events)))
            ]
            if keys:
                yield "BatchGetItem", {"RequestItems": {"events": {"Keys": keys}}}
            yield "GetItem", {"TableName": "keys", "Key": {"key": S(f"k{rng.randint(0, 30)}")}}
    for name in ("events", "versions", "keys"):
        yield "Scan", {"TableName": name}


def index_renewed(rng):
    """The `rank` index deleted and made again, on the same or another attribute."""
    yield (
        "UpdateTable",
        {
            "TableName": "events",
            "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "rank"}}],
        },
    )
    attribute = rng.choice(["rank", "n"])
    yield (
        "UpdateTable",
        {
            "TableName": "events",
            "AttributeDefinitions": [
                {"AttributeName": "shard", "AttributeType": "S"},
                {"AttributeName": attribute, "AttributeType": "N"},
            ],
            "GlobalSecondaryIndexUpdates": [{"Create": index("rank", "shard", attribute)}],
        },
    )


def partiql(rng, contact):
    """A PartiQL transaction that holds, and one that fails and is rolled back."""
    key = f"pq{rng.randint(0, 5)}"
    insert = {"Statement": f"INSERT INTO keys VALUE {{'key': '{key}', 'owner': '{contact}'}}"}
    update = {"Statement": f"UPDATE keys SET owner = '{contact}' WHERE key = 'email:{contact}'"}
    yield "ExecuteTransaction", {"TransactStatements": [insert]}
    yield "ExecuteTransaction", {"TransactStatements": [update, insert]}  # a second insert fails


def query(rng):
    forward = rng.random() < 0.6
    limit = rng.choice([None, 1, 2, 5, 50])
    which = rng.choice(["table", "pending", "due", "rank", "by_shard", "versions"])
    if which == "table":
        body = {
            "TableName": "events",
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": "contact_id"},
            "ExpressionAttributeValues": {":h": S(rng.choice(CONTACTS))},
        }
        extra, values = key_condition(rng, "event_id", [S(f"ev_{i:03d}") for i in range(0, 61, 7)])
        if extra:
            body["ExpressionAttributeNames"]["#r"] = "event_id"
    elif which == "versions":
        body = {
            "TableName": "versions",
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": "key"},
            "ExpressionAttributeValues": {":h": S(f"v{rng.randint(0, 3)}")},
        }
        extra, values = key_condition(rng, "version", [N(v) for v in VERSIONS + BOUNDS])
        if "begins_with" in extra:
            extra, values = "", {}
        if extra:
            body["ExpressionAttributeNames"]["#r"] = "version"
    else:
        body = {
            "TableName": "events",
            "IndexName": which,
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": "shard"},
            "ExpressionAttributeValues": {":h": S(rng.choice(SHARDS))},
        }
        candidates = {
            "pending": [S(f"ev_{i:03d}") for i in range(0, 61, 7)],
            "due": [S(f"2026-12-{i:02d}") for i in range(1, 10)],
            "rank": [N(v) for v in (-3, -1, 0, 0.5, 2, 10, 1000, *BOUNDS)],
            "by_shard": [],
        }[which]
        extra, values = key_condition(rng, which, candidates) if candidates else ("", {})
        if which == "rank" and "begins_with" in extra:
            extra, values = "", {}
        if extra:
            body["ExpressionAttributeNames"]["#r"] = {"pending": "event_id"}.get(which, which)
    body["KeyConditionExpression"] += extra
    body["ExpressionAttributeValues"].update(values)
    body["ScanIndexForward"] = forward
    if limit:
        body["Limit"] = limit
    yield "Query*", body


def scan(rng):
    name = rng.choice(["events", "keys", "versions"])
    body = {"TableName": name}
    limit = rng.choice([None, 1, 3, 7])
    if limit:
        body["Limit"] = limit
    if rng.random() < 0.2:
        body["IndexName"] = "due" if name == "events" else None
        if body["IndexName"] is None:
            del body["IndexName"]
    if rng.random() < 0.2:
        body["Segment"], body["TotalSegments"] = rng.randint(0, 1), 2
    yield "Scan*", body


def run(seed):
    d.reset()
    out = []
    for op, body in requests(seed):
        if op.endswith("*"):  # every page
            op = op[:-1]
            while True:
                status, answer = call(op, body)
                out.append([op, status, answer])
                if status != 200 or "LastEvaluatedKey" not in answer:
                    break
                body = {**body, "ExclusiveStartKey": answer["LastEvaluatedKey"]}
            continue
        out.append([op, call(op, body)])
    return out


seeds = [int(s) for s in sys.argv[2].split(",")]
plain = [run(seed) for seed in seeds]

import emulator_disk  # noqa: E402
import emulator_ranges  # noqa: E402
import emulator_sizes  # noqa: E402
import emulator_writes  # noqa: E402

handle, path = tempfile.mkstemp(suffix=".sqlite")
disk = emulator_disk.Disk(path)
expire = emulator_disk.install(disk)
emulator_ranges.install()
emulator_sizes.install()
emulator_writes.install()
on_disk = [run(seed) for seed in seeds]

# Expiry, on disk: what `expire` deletes is what has expired, and nothing else.
before = {
    i["key"]["S"]: i.get("expires_at") for i in call("Scan", {"TableName": "keys"})[1]["Items"]
}
removed = expire(1_000_000)
after = {i["key"]["S"] for i in call("Scan", {"TableName": "keys"})[1]["Items"]}
expired = {k for k, v in before.items() if v is not None and float(v["N"]) <= 1_000_000}
print(
    json.dumps(
        {
            "plain": plain,
            "disk": on_disk,
            "expiry": {
                "removed": removed,
                "expired": sorted(expired),
                "kept": sorted(after),
                "before": sorted(before),
            },
            "cached": len(disk.cache),
        }
    )
)
