"""A burst of distinct leads: how fast the stack takes them and has them all in a journey.

Posts N new leads to the whitepaper form at concurrency C, then waits until every one has
its first journey email (the thank-you) in the outbox: the contact was stored, its event
processed, the journey entered, the email rendered and sent. Prints posts a second, the POST
latency, the seconds from the last post until the last contact's email, and the emails sent a
second meanwhile (paced by the pipeline that queues them; bench/sender.py measures the sender
alone). Target: every contact's email within 15 s of the last post. Exit status 1 when it is
missed.

    make run                                   # in one terminal, or let the bench start one
    .venv/bin/python bench/burst.py [--n 1000] [--concurrency 8] [--start]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import Stack, local_stack, submit

TARGET_SETTLE_SECONDS = 15.0
WAIT_SECONDS = 300.0
TO = re.compile(rb"^To: *(.+?)\r?$", re.MULTILINE | re.IGNORECASE)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _post(api: str, email: str) -> tuple[float, int]:
    started = time.perf_counter()
    status, _ = submit(
        api, {"email": email, "first_name": "Burst", "company": "Burst Co", "consent": True}
    )
    return time.perf_counter() - started, status


class Outbox:
    """Reads recipients of the emails in the outbox folder, each file once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: set[str] = set()
        self.first: dict[str, float] = {}  # recipient -> when the file was written

    def scan(self) -> None:
        if not self.folder.exists():
            return
        for path in self.folder.iterdir():
            if path.name in self.seen or path.suffix != ".eml":
                continue
            with open(path, "rb") as message:
                head = message.read(4096)
            match = TO.search(head)
            if match:  # else it is still being written: read it on the next scan
                self.seen.add(path.name)
                who = match.group(1).decode("utf-8", "replace").strip().lower()
                written = path.stat().st_mtime
                self.first[who] = min(written, self.first.get(who, written))


def run(stack: Stack, n: int, concurrency: int) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    emails = [f"burst-{tag}-{i}@example.com" for i in range(n)]
    outbox = Outbox(stack.outbox)
    started = time.time()
    with ThreadPoolExecutor(concurrency) as pool:
        answers = list(pool.map(lambda e: _post(stack.api, e), emails))
    last_post = time.time()
    wanted = set(emails)
    deadline = last_post + WAIT_SECONDS
    while time.time() < deadline:
        outbox.scan()
        if wanted <= outbox.first.keys():
            break
        time.sleep(0.1)
    mine = sorted(t for who, t in outbox.first.items() if who in wanted)
    latencies = [seconds for seconds, _ in answers]
    busy = (mine[-1] - mine[0]) if len(mine) > 1 else 0.0
    return {
        "posts": n,
        "accepted": sum(1 for _, status in answers if 200 <= status < 300),
        "server_errors": sum(1 for _, status in answers if status >= 500),
        "posts_per_second": n / (last_post - started),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "emailed": len(mine),
        "settled_after_last_post_s": (mine[-1] - last_post) if mine else float("inf"),
        "emails_per_second": (len(mine) - 1) / busy if busy else 0.0,
    }


def report(figures: dict[str, float]) -> bool:
    n = int(figures["posts"])
    print(f"burst: {n} distinct leads at concurrency {figures['concurrency']:g}")
    errors = figures["server_errors"]
    print(f"  accepted             {figures['accepted']:8.0f}   (5xx: {errors:.0f})")
    print(f"  posts a second       {figures['posts_per_second']:8.1f}")
    print(f"  POST p50 / p99       {figures['p50_ms']:8.0f} / {figures['p99_ms']:.0f} ms")
    print(f"  in journey, emailed  {figures['emailed']:8.0f} of {n}")
    settled = figures["settled_after_last_post_s"]
    rate = figures["emails_per_second"]
    settled_ok = figures["emailed"] == n and settled <= TARGET_SETTLE_SECONDS
    verdict = {True: "PASS", False: "FAIL"}
    print(
        f"  all emailed after    {settled:8.1f} s after the last post"
        f"   {verdict[settled_ok]} <= {TARGET_SETTLE_SECONDS:g} s"
    )
    print(f"  emails sent          {rate:8.1f} a second, as the pipeline queued them")
    return settled_ok and figures["accepted"] == n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--start", action="store_true", help="start a fresh stack of its own")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    with local_stack(start=args.start) as stack:
        figures = run(stack, args.n, args.concurrency)
    figures["concurrency"] = args.concurrency
    ok = report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
