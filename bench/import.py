"""The importer: rows a second for a generated file, and whether its memory grows with the file.

A CSV of N generated contacts (Chinese and English names, phones, companies, tags; one row in
fifty repeats an earlier person and one in a hundred is bad) is imported through the real
`leadflow import` code path into the embedded AWS, in a process of its own per run so that
each peak is the importer's own. Prints rows a second for the large file and the peak memory
(tracemalloc's peak of Python allocations during the import) for a small and a large file.
The rate is timed in a run of its own without tracemalloc, which slows every allocation (it
made the same import three times slower).
Targets: at least 2,000 rows a second; peak memory for N rows at most 1.2 times that for N/10.

    .venv/bin/python bench/import.py [--n 100000] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_PER_SECOND = 2000.0
MEMORY_RATIO = 1.2
QUICK_N = 500
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "Berlin", "London"]


def generate(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["邮箱", "手机", "姓名", "公司", "职位", "城市", "标签"])
        for i in range(n):
            person = rng.randrange(i) if i and i % 50 == 0 else i
            email = f"contact{person}@example.com" if i % 100 != 99 else f"broken{i}@"
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i % 3 else "")
            phone = f"1{rng.choice('3589')}{person:09d}"
            tags = "展会;VIP" if i % 7 == 0 else "展会"
            city = rng.choice(CITIES)
            out.writerow([email, phone, name, f"公司{person % 997}", "市场经理", city, tags])


def one_import(file: str, traced: bool) -> dict[str, float]:
    """In this process: an emulator of its own, the import, its time and (`traced`) its peak
    memory."""
    import time
    import tracemalloc

    from bench.backend import bench_settings
    from chalicelib import bootstrap
    from chalicelib.local import emulator
    from chalicelib.services.importer import ImportOptions
    from chalicelib.store import tables

    engine = emulator.start()
    try:
        settings = bench_settings(AWS_ENDPOINT_URL=engine.endpoint)
        svc = bootstrap.build(settings)
        tables.create_all()
        client = tables.connection().client
        # Counting reads every transaction's body: only in the traced runs, not the timed one.
        written = _ItemsWritten(client) if traced else None
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        summary = svc.importer.run(Path(file), ImportOptions(phone_region="CN"))
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if written is not None:
            written.stop()
        ceiling = _engine_items_per_second(client)
    finally:
        engine.kill()
    return {
        "rows": summary.rows,
        "seconds": seconds,
        "peak": peak,
        "items": written.items if written else 0,
        "transactions": written.calls if written else 0,
        "engine_items_per_second": ceiling,
        **summary.counts,
    }


EVENT = "before-parameter-build.dynamodb.TransactWriteItems"


class _ItemsWritten:
    """Items the import asks DynamoDB to write, counted at botocore."""

    def __init__(self, client) -> None:
        self.client, self.items, self.calls = client, 0, 0
        client.meta.events.register("before-call.dynamodb.TransactWriteItems", self._count)

    def _count(self, params, **_) -> None:
        body = params.get("body") or b"{}"  # PynamoDB hands botocore the request, built
        self.items += len(json.loads(body).get("TransactItems") or ())
        self.calls += 1

    def stop(self) -> None:
        self.client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", self._count)


def _engine_items_per_second(client, transactions: int = 40, size: int = 100) -> float:
    """The embedded AWS's own ceiling: new items written in transactions of `size` puts,
    nothing of ours in between (a table of its own)."""
    import time

    client.create_table(
        TableName="bench-ceiling",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"v": {"S": "公司 contact@example.com +8613800138000 " * 4}}
    started = time.perf_counter()
    for t in range(transactions):
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "bench-ceiling",
                        "Item": {"k": {"S": f"{t}-{i}"}, **item},
                        "ConditionExpression": "attribute_not_exists(k)",
                    }
                }
                for i in range(size)
            ]
        )
    return transactions * size / (time.perf_counter() - started)


def measure(n: int) -> dict[str, dict[str, float]]:
    """The large file timed, then both sizes traced: each run in a process of its own."""
    figures = {}
    with tempfile.TemporaryDirectory() as folder:
        for size, traced in ((n, False), (n // 10, True), (n, True)):
            path = Path(folder) / f"contacts-{size}.csv"
            if not path.exists():
                generate(path, size)
            done = subprocess.run(
                [sys.executable, __file__, "--one", str(path), *(["--traced"] if traced else [])],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            figures[f"{size}{' traced' if traced else ''}"] = json.loads(
                done.stdout.strip().splitlines()[-1]
            )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="rows in the large file (100000)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N} rows: a check only")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one_import(args.one, args.traced)))
        return 0
    n = QUICK_N if args.quick else args.n
    figures = measure(n)
    large = figures[str(n)]
    small, large_traced = figures[f"{n // 10} traced"], figures[f"{n} traced"]
    rate = large["rows"] / large["seconds"]
    ratio = large_traced["peak"] / small["peak"]
    created = large.get("create", 0) + large.get("update", 0) + large.get("unchanged", 0)
    every = large["rows"] == n and created + large.get("rejected", 0) == n
    print(f"\nimport: {n} generated rows (1 in 50 a repeat, 1 in 100 bad), CSV UTF-8")
    print(
        f"  {n} rows: {large.get('create', 0):.0f} created, {large.get('update', 0):.0f} "
        f"updated, {large.get('unchanged', 0):.0f} unchanged, {large.get('rejected', 0):.0f} "
        f"rejected in {large['seconds']:.1f} s"
    )
    print(f"  every row accounted for     {'PASS' if every else 'FAIL'}")
    ok_rate = rate >= TARGET_PER_SECOND
    print(
        f"  rows a second       {rate:9.0f}   "
        f"{'PASS' if ok_rate else 'FAIL'} >= {TARGET_PER_SECOND:g}"
    )
    per_row = large_traced["items"] / max(large_traced["rows"], 1)  # the same import, counted
    engine_rows = large["engine_items_per_second"] / per_row
    print(
        f"  items written       {large_traced['items']:9.0f}   ({per_row:.2f} a row, in "
        f"{large_traced['transactions']:.0f} transactions: the rows, their keys and events, "
        "checkpoints)"
    )
    print(
        f"  the engine's own    {large['engine_items_per_second']:9.0f}   items a second in "
        f"100-item transactions: at most {engine_rows:.0f} rows a second at {per_row:.2f} a row"
    )
    print(f"  the importer reaches {rate / engine_rows:.0%} of what the engine allows")
    ok_memory = ratio <= MEMORY_RATIO
    print(
        f"  peak memory         {small['peak'] / 2**20:6.1f} MiB for {n // 10} rows, "
        f"{large_traced['peak'] / 2**20:.1f} MiB for {n}: ratio {ratio:.2f}   "
        f"{'PASS' if ok_memory else 'FAIL'} <= {MEMORY_RATIO:g}"
    )
    return 0 if (every and ok_rate and ok_memory) or (args.quick and every) else 1


if __name__ == "__main__":
    sys.exit(main())
