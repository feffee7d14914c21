"""The local engine: the embedded AWS keeps every answered write across a kill -9 and a clean
restart, and the API answers 503 with Retry-After while it is down. (The drivers waiting it out:
tests/unit/test_local_engine.py.)"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.api import health
from chalicelib.local import emulator, ports, supervisor
from chalicelib.local.stream_driver import StreamDriver
from tests.builders import lead, post_json, without_indexes

TABLE = "engine-test"


def _dynamodb(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )


def _create_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "contact_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "contact_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


def _put(client: Any, contact_id: str, n: int = 0) -> None:
    client.put_item(TableName=TABLE, Item={"contact_id": {"S": contact_id}, "n": {"N": str(n)}})


def _ids(client: Any) -> set[str]:
    items = client.scan(TableName=TABLE)["Items"]
    return {item["contact_id"]["S"] for item in items}


@pytest.fixture
def durable(tmp_path: Path):
    engine = emulator.Emulator(ports.free(), tmp_path / "aws")
    engine.start()
    yield engine
    engine.kill()


def test_every_answered_write_survives_a_kill_of_the_emulator(durable):
    client = _dynamodb(durable.endpoint)
    _create_table(client)
    for i in range(50):
        _put(client, f"ct_{i}")
    client.update_item(
        TableName=TABLE,
        Key={"contact_id": {"S": "ct_0"}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )

    durable.kill()
    durable.start()

    assert _ids(client) == {f"ct_{i}" for i in range(50)}
    first = client.get_item(TableName=TABLE, Key={"contact_id": {"S": "ct_0"}})["Item"]
    assert first["n"] == {"N": "1"}


def test_a_snapshot_then_more_writes_then_a_clean_stop_keeps_everything_once(tmp_path: Path):
    engine = emulator.Emulator(ports.free(), tmp_path / "aws", snapshot_every=0.2)
    try:
        engine.start()
        client = _dynamodb(engine.endpoint)
        _create_table(client)
        _put(client, "before")
        client.update_item(
            TableName=TABLE,
            Key={"contact_id": {"S": "counter"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        threading.Event().wait(1.0)  # a snapshot is taken: generation 1
        assert (tmp_path / "aws" / "CURRENT").read_text() != "0"
        client.update_item(
            TableName=TABLE,
            Key={"contact_id": {"S": "counter"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        _put(client, "after")
        engine.stop()
        engine.start()
        assert _ids(client) == {"before", "after", "counter"}
        counter = client.get_item(TableName=TABLE, Key={"contact_id": {"S": "counter"}})["Item"]
        assert counter["n"] == {"N": "2"}  # applied once: neither lost nor replayed twice
    finally:
        engine.kill()


def test_a_journal_line_cut_short_by_a_kill_is_ignored(durable, tmp_path: Path):
    client = _dynamodb(durable.endpoint)
    _create_table(client)
    _put(client, "kept")
    durable.kill()
    journal = next((tmp_path / "aws").glob("journal-*.jsonl"))
    with journal.open("a") as out:
        out.write('{"m":"POST","p":"/","q":"","h":[["x-amz-tar')  # the kill came mid-line

    durable.start()
    _put(client, "after")  # appended on a line of its own, not onto the cut one
    durable.kill()
    durable.start()

    assert _ids(client) == {"kept", "after"}


def test_the_supervisor_restarts_a_killed_emulator_on_the_same_endpoint(durable):
    client = _dynamodb(durable.endpoint)
    _create_table(client)
    _put(client, "ct_1")
    stop = threading.Event()
    watcher = threading.Thread(
        target=supervisor.supervise, args=([durable], stop, 0.05), daemon=True
    )
    watcher.start()
    try:
        durable.kill()
        for _ in range(200):
            if durable.restarts and durable.healthy():
                break
            threading.Event().wait(0.05)
        assert durable.restarts == 1
        assert _ids(client) == {"ct_1"}
    finally:
        stop.set()
        watcher.join()


def test_the_stream_driver_reads_on_after_the_emulator_restarts(durable, aws):
    client = _dynamodb(durable.endpoint)
    _create_table(client)
    seen: list[str] = []

    def handler(batch: dict[str, Any]) -> dict[str, Any]:
        seen.extend(r["dynamodb"]["Keys"]["contact_id"]["S"] for r in batch["Records"])
        return {}

    emulator.point_clients_at(durable.endpoint)
    try:
        driver = StreamDriver(TABLE, handler)
        _put(client, "before")
        assert driver.poll_once() == 1
        durable.kill()
        durable.start()
        _put(client, "after")
        for _ in range(5):
            driver.poll_once()
    finally:
        emulator.point_clients_at(aws.endpoint)
    assert seen[0] == "before"
    assert "after" in seen  # a replayed "before" may come again: the pipeline skips it


def test_an_expired_iterator_reads_on_from_the_last_record_not_from_the_start(aws):
    """An iterator is good for 15 minutes; a pipeline busy longer asks for a new one from
    its own position. (The first answer is refused as the engine refuses an old iterator.)"""
    aws.reset()
    client = _dynamodb(aws.endpoint)
    _create_table(client)
    seen: list[str] = []

    def handler(batch: dict[str, Any]) -> dict[str, Any]:
        seen.extend(r["dynamodb"]["Keys"]["contact_id"]["S"] for r in batch["Records"])
        return {}

    driver = StreamDriver(TABLE, handler)
    _put(client, "before")
    assert driver.poll_once() == 1
    read = driver.streams.get_records
    refused: list[str] = []

    def expired_once(**kwargs: Any) -> Any:
        if not refused:
            refused.append(kwargs["ShardIterator"])
            error = {"Error": {"Code": "ExpiredIteratorException", "Message": "expired"}}
            raise ClientError(error, "GetRecords")
        return read(**kwargs)

    driver.streams.get_records = expired_once
    _put(client, "after")
    assert driver.poll_once() == 0 and refused
    for _ in range(3):
        driver.poll_once()
    assert seen == ["before", "after"]


def test_the_stream_driver_hands_over_records_as_lambda_does(aws):
    """Read without botocore's walk (store/wire.py): the images as DynamoDB's JSON, and the
    creation time the number of seconds Lambda's event carries, not a datetime."""
    aws.reset()
    client = _dynamodb(aws.endpoint)
    _create_table(client)
    records: list[dict[str, Any]] = []
    driver = StreamDriver(TABLE, lambda batch: records.extend(batch["Records"]) or {})
    _put(client, "ct_王", n=7)
    assert driver.poll_once() == 1
    (record,) = records
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["NewImage"]["contact_id"] == {"S": "ct_王"}
    assert record["dynamodb"]["Keys"] == {"contact_id": {"S": "ct_王"}}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int | float)
    assert isinstance(record["dynamodb"]["SequenceNumber"], str)


@contextlib.contextmanager
def _store_down(svc):
    """The store unreachable: the models pointed at a port where nothing listens."""
    from chalicelib.store import tables

    dead = svc.settings.__class__(
        **{**svc.settings.__dict__, "endpoint_url": f"http://127.0.0.1:{ports.free()}"}
    )
    tables.bind(dead)
    try:
        yield
    finally:
        tables.bind(svc.settings)


@pytest.fixture
def down(svc, client):
    with _store_down(svc):
        yield client


def test_a_post_while_the_store_is_down_answers_503_with_retry_after(down):
    answer = post_json(down, lead())

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert json.loads(answer.body)["error"] == "unavailable"


def test_a_browser_posting_while_the_store_is_down_gets_a_page_back_to_the_form(down):
    answer = down.http.post(
        "/forms/whitepaper/submissions",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "text/html",
            "Referer": "https://www.example.com/playbook",
        },
        body=urllib.parse.urlencode(lead(consent="on")),
    )

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.headers["Content-Type"].startswith("text/html")
    assert b'href="https://www.example.com/playbook"' in answer.body
    assert b"http-equiv" not in answer.body  # a reload would send the form as a GET


def test_a_page_a_browser_opens_while_the_store_is_down_reloads_itself(down):
    answer = down.http.get("/forms/whitepaper", headers={"Accept": "text/html"})

    assert answer.status_code == 503
    assert b'<meta http-equiv="refresh" content="5">' in answer.body


def test_a_cross_origin_post_while_the_store_is_down_can_read_the_503(svc, client):
    assert post_json(client, lead()).status_code == 201  # the form is now cached, as it is live
    with _store_down(svc):
        answer = post_json(client, lead(email="bob@example.com"), Origin="https://www.example.com")

    assert answer.status_code == 503
    assert answer.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert answer.headers["Retry-After"] == "5"


def test_health_names_the_component_that_is_down(down):
    answer = down.http.get("/health")

    body = json.loads(answer.body)
    assert answer.status_code == 503
    assert body["components"]["store"]["status"] == "down"


def test_health_is_ok_with_every_component_up(client):
    health.register("drivers", lambda: {"pipeline": {"handled": 3}})
    try:
        answer = client.http.get("/health")
    finally:
        health._registered.clear()

    body = json.loads(answer.body)
    assert answer.status_code == 200
    assert {name: c["status"] for name, c in body["components"].items()} == {
        "store": "ok",
        "queues": "ok",
        "drivers": "ok",
    }


def test_a_state_made_before_an_index_existed_gets_it_filled_at_the_next_start(svc):
    from chalicelib.store import tables
    from chalicelib.store.models import LedgerModel

    without_indexes(LedgerModel)
    client, name = tables.connection().client, LedgerModel.Meta.table_name
    client.put_item(TableName=name, Item={"key": {"S": "old#1"}, "contact_id": {"S": "ct_1"}})

    tables.create_all()

    assert [e.key for e in LedgerModel.by_contact.query("ct_1")] == ["old#1"]
    tables.create_all()  # a second start changes nothing


def _snapshot_once(tmp_path: Path) -> emulator.Emulator:
    engine = emulator.Emulator(ports.free(), tmp_path / "aws", snapshot_every=0.2)
    engine.start()
    client = _dynamodb(engine.endpoint)
    _create_table(client)
    for i in range(20):
        _put(client, f"ct_{i}", i)
    threading.Event().wait(1.0)  # a snapshot is taken
    return engine


def test_a_snapshot_holds_the_tables_database_and_the_tables_only_refer_to_it(tmp_path: Path):
    engine = _snapshot_once(tmp_path)
    try:
        engine.stop()
        folder = tmp_path / "aws"
        snapshot = folder / f"gen-{(folder / 'CURRENT').read_text()}"
        assert (snapshot / "dynamodb.sqlite").stat().st_size > 0
        state = (snapshot / "dynamodb.json").read_text()
        assert "ct_7" not in state and "\\u0000disk" in state  # the items are in the database

        (folder / "tables.sqlite").write_bytes(b"left over from the run before")
        engine.start()  # works on a fresh copy of the snapshot's database, then the journal
        client = _dynamodb(engine.endpoint)
        assert _ids(client) == {f"ct_{i}" for i in range(20)}
        seven = client.get_item(TableName=TABLE, Key={"contact_id": {"S": "ct_7"}})["Item"]
        assert seven["n"] == {"N": "7"}
    finally:
        engine.kill()


def test_a_state_saved_before_the_tables_database_loads_into_it(tmp_path: Path):
    """A snapshot written when the items were in the snapshot's JSON (before this release)."""
    import sqlite3

    engine = _snapshot_once(tmp_path)
    engine.stop()
    folder = tmp_path / "aws"
    snapshot = folder / f"gen-{(folder / 'CURRENT').read_text()}"
    database = sqlite3.connect(snapshot / "dynamodb.sqlite")
    inline: dict[str, dict[str, Any]] = {}
    for pk, sk, body in database.execute("SELECT pk, sk, body FROM items"):
        inline.setdefault(pk, {})[sk] = json.loads(body)
    database.close()
    (snapshot / "dynamodb.sqlite").unlink()
    text = (snapshot / "dynamodb.json").read_text()
    [reference] = re.findall(r'"\\u0000disk": \d+', text)
    (snapshot / "dynamodb.json").write_text(text.replace(reference, json.dumps(inline)[1:-1]))
    try:
        engine.start()
        client = _dynamodb(engine.endpoint)
        assert _ids(client) == {f"ct_{i}" for i in range(20)}
        _put(client, "ct_new")  # and it goes on from there
        engine.stop()
        engine.start()
        assert _ids(client) == {f"ct_{i}" for i in range(20)} | {"ct_new"}
    finally:
        engine.kill()
