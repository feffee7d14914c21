"""A write request's repeated work is done once in the emulator (chalicelib/local/
emulator_writes.py), with ministack's answers: the same requests (transactions asking for no
capacity, for TOTAL and for INDEXES; conditions that hold, fail, or are malformed; replays
with the same token; updates moving an index entry; an item over 400 KB; batch writes) get the
same answers and leave the same tables, compared in ministack's own environment. And
Leadflow's clients no longer ask for the capacity (chalicelib/store/capacity.py)."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from chalicelib.local import emulator
from chalicelib.store import tables
from tests.builders import lead, post_json

LOCAL = Path(emulator.__file__).resolve().parent

CHECK = Path(__file__).with_name("writes_in_ministack.py")


def test_every_answer_is_ministacks() -> None:
    done = subprocess.run(
        [str(emulator.python()), str(CHECK), str(LOCAL)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    before, after = result["before"], result["after"]
    assert result["sized"] == before  # (the size twins alone change nothing either)
    assert after == before
    answers = Counter(
        answer.get("__type", "ok") for _, _, answer in before if isinstance(answer, dict)
    )
    assert answers["ok"] >= 28
    assert answers["TransactionCanceledException"] >= 16  # conditions failed, four per ask
    assert answers["ValidationException"] >= 8  # reversed bounds, an item over 400 KB
    assert answers["IdempotentParameterMismatchException"] == 4  # a replay asking otherwise
    asked = [a for _, _, a in before if isinstance(a, dict) and "ConsumedCapacity" in a]
    assert any("GlobalSecondaryIndexes" in str(a) for a in asked)  # index units still reported


def test_a_leads_whole_way_drops_pynamodbs_ask_for_capacity(client, journeys) -> None:
    asked: Counter[str] = Counter()

    def look(request: Any, **_: Any) -> None:
        body = request.body if isinstance(request.body, bytes) else b""
        asked["requests"] += 1
        asked["capacity"] += b'"ReturnConsumedCapacity":"TOTAL"' in body.replace(b" ", b"")

    events = tables.connection().client.meta.events
    events.register("before-send.dynamodb", look, unique_id="test-capacity")
    try:
        assert post_json(client, lead()).status_code == 201
        journeys.settle()
    finally:
        events.unregister("before-send.dynamodb", unique_id="test-capacity")
    assert asked["requests"] > 10
    assert asked["capacity"] == 0
