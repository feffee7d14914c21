"""The emulator's tables on disk (chalicelib/local/emulator_disk.py) answer as ministack's own
dicts do: the same requests, generated at random (puts, updates that move items between index
partitions or out of them, deletes, transactions, batch writes and reads; Queries on the table
and on indexes by text and by number, with every kind of key condition, forwards and
backwards, a page at a time, with numbers a float cannot tell apart; an index deleted and made
again; PartiQL transactions rolled back; Scans whole, by page, by index and by segment), get
the same answers, compared in ministack's own environment. Expiry deletes exactly what has
expired."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

from chalicelib.local import emulator

LOCAL = Path(emulator.__file__).resolve().parent
CHECK = Path(__file__).with_name("disk_in_ministack.py")


def test_every_answer_is_ministacks_and_expiry_deletes_what_has_expired() -> None:
    done = subprocess.run(
        [str(emulator.python()), str(CHECK), str(LOCAL), "1,2,3"],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    for plain, on_disk in zip(result["plain"], result["disk"], strict=True):
        assert on_disk == plain
    operations = Counter(entry[0] for run in result["plain"] for entry in run)
    assert operations["Query"] > 300 and operations["Scan"] > 1000  # pages counted one by one
    assert {"TransactWriteItems", "BatchWriteItem", "DeleteItem", "UpdateItem"} <= set(operations)
    assert {"ExecuteTransaction", "UpdateTable"} <= set(operations)  # rollbacks, index renewals
    expiry = result["expiry"]
    assert expiry["expired"] and expiry["removed"] == len(expiry["expired"])
    assert set(expiry["kept"]) == set(expiry["before"]) - set(expiry["expired"])
    assert 0 < result["cached"] <= 4096
