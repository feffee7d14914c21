"""The local engine's pure parts: an outage seen through a wrapping error, a driver that waits
one out, and the lanes that keep each contact's order (the embedded AWS surviving kills and
restarts, and the API while it is down: tests/integration/test_local_engine.py)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from botocore.exceptions import EndpointConnectionError

from chalicelib.local.lanes import Lanes
from chalicelib.local.loop import Loop
from chalicelib.store import outage


def test_is_outage_sees_an_unreachable_endpoint_through_a_wrapping_error():
    try:
        try:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
        except EndpointConnectionError as inner:
            raise RuntimeError("PutItem failed") from inner
    except RuntimeError as wrapped:
        assert outage.is_outage(wrapped)
    assert not outage.is_outage(ValueError("a bug"))


def test_a_driver_waits_out_an_outage_with_one_line_when_it_starts_and_one_when_it_ends(caplog):
    stop = threading.Event()
    calls = iter([EndpointConnectionError(endpoint_url="x")] * 4 + [1, 0])

    def step() -> int:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        if value == 0:
            stop.set()
        return value

    loop = Loop("pipeline", step, idle_seconds=0.0)
    with caplog.at_level(logging.WARNING, logger="chalicelib.local.loop"):
        import chalicelib.local.loop as loop_module

        loop_module.OUTAGE_WAIT_SECONDS, saved = 0.0, loop_module.OUTAGE_WAIT_SECONDS
        try:
            loop.run(stop)
        finally:
            loop_module.OUTAGE_WAIT_SECONDS = saved

    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "unreachable" in messages[0]
    assert "resumed" in messages[1]
    assert loop.handled == 1


def _record(contact: str, sequence: int) -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {"Keys": {"contact_id": {"S": contact}}, "SequenceNumber": str(sequence)},
    }


def test_lanes_keep_each_contacts_order_and_retry_a_failure_in_place():
    handled: list[tuple[str, int]] = []
    failures = {7: 2}  # record 7 fails twice, then succeeds

    def handle(records: list[dict[str, Any]]) -> dict[str, Any]:
        (r,) = records
        sequence = int(r["dynamodb"]["SequenceNumber"])
        if failures.get(sequence):
            failures[sequence] -= 1
            return {"batchItemFailures": [{"itemIdentifier": str(sequence)}]}
        handled.append((r["dynamodb"]["Keys"]["contact_id"]["S"], sequence))
        return {"batchItemFailures": []}

    lanes = Lanes(handle, lanes=3)
    lanes.accept({"Records": [_record(f"ct_{i % 5}", i) for i in range(1, 16)]})
    while lanes.waiting() or any(lane is not None for lane in lanes._current):
        for lane in range(3):
            lanes.work(lane)

    assert sorted(s for _, s in handled) == list(range(1, 16))
    for contact in {c for c, _ in handled}:
        sequences = [s for c, s in handled if c == contact]
        assert sequences == sorted(sequences)


def test_a_lane_gives_a_record_up_to_the_sweeper_after_its_retries():
    tries = []

    def handle(records: list[dict[str, Any]]) -> dict[str, Any]:
        tries.append(records[0]["dynamodb"]["SequenceNumber"])
        return {"batchItemFailures": [{"itemIdentifier": tries[-1]}]}

    lanes = Lanes(handle, lanes=1, max_retries=2)
    lanes.accept({"Records": [_record("ct_1", 1), _record("ct_1", 2)]})
    done = [lanes.work(0) for _ in range(6)]

    assert tries == ["1", "1", "1", "2", "2", "2"]  # each tried once and retried twice
    assert done == [0, 0, 1, 0, 0, 1]


def test_a_lane_counts_a_crash_as_a_try_instead_of_blocking_on_it():
    def handle(records: list[dict[str, Any]]) -> dict[str, Any]:
        if records[0]["dynamodb"]["SequenceNumber"] == "1":
            raise ValueError("a record the pipeline cannot read")
        return {"batchItemFailures": []}

    lanes = Lanes(handle, lanes=1, max_retries=1)
    lanes.accept({"Records": [_record("ct_1", 1), _record("ct_1", 2)]})

    assert [lanes.work(0) for _ in range(3)] == [0, 1, 1]  # tried twice, given up, then the next
    assert lanes.waiting() == 0


def test_a_loop_finishes_once_after_it_stops():
    stop, finished = threading.Event(), []
    steps = iter([1, 1, 0])

    def step() -> int:
        done = next(steps, 0)
        if not done:
            stop.set()
        return done

    loop = Loop("lane-1", step, 0.0, finish=lambda: finished.append(loop.handled))
    loop.run(stop)
    assert finished == [2]
