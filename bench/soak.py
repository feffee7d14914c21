"""Soak: a steady trickle of leads for a long time; does the embedded AWS's memory level off?

Posts leads at `--rate` a second for `--minutes` (a hot lead every tenth, so hand-offs, emails
and webhooks run too) against the running stack, or one it starts, and samples the resident
memory of the emulator's process every 30 s (from /proc, its pid from /health). Target: the
memory grows at most 20% between minute 5 and the end. Also counts answers that were not 2xx.
Not part of `make test` (it is long by design).

    .venv/bin/python bench/soak.py [--minutes 30] [--rate 5] [--start]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import Stack, local_stack, submit

TARGET_GROWTH = 0.20
SETTLE_MINUTES = 5.0
SAMPLE_SECONDS = 30.0
HOT = {"job_title": "VP Engineering", "company_size": "1000+", "country": "US"}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _emulator_pid(stack: Stack) -> int:
    with urllib.request.urlopen(f"{stack.api}/health", timeout=10) as answer:
        return int(json.loads(answer.read())["components"]["embedded_aws"]["pid"])


def soak(stack: Stack, minutes: float, rate: float, every: float = SAMPLE_SECONDS) -> dict:
    """Post for `minutes`; the emulator's memory samples (minute, MB) and the failed posts."""
    tag = uuid.uuid4().hex[:8]
    start = time.time()
    samples: list[tuple[float, float]] = []
    bad = 0
    i = 0
    next_sample = start
    while (now := time.time()) < start + minutes * 60:
        if now >= next_sample:
            samples.append(((now - start) / 60, _rss_mb(_emulator_pid(stack))))
            print(f"  minute {samples[-1][0]:5.1f}: emulator {samples[-1][1]:7.1f} MB", flush=True)
            next_sample += every
        body = {"email": f"soak-{tag}-{i}@example.com", "first_name": "Soak", "company": "Soak"}
        body.update({"consent": True, **(HOT if i % 10 == 0 else {})})
        if not 200 <= submit(stack.api, body)[0] < 300:
            bad += 1
        i += 1
        time.sleep(max(0.0, start + i / rate - time.time()))
    samples.append(((time.time() - start) / 60, _rss_mb(_emulator_pid(stack))))
    return {"posted": i, "failed": bad, "rate": rate, "minutes": minutes, "samples": samples}


def report(result: dict) -> bool:
    samples = result["samples"]
    settled = next((mb for minute, mb in samples if minute >= SETTLE_MINUTES), samples[0][1])
    final = samples[-1][1]
    growth = final / settled - 1
    ok = growth <= TARGET_GROWTH and not result["failed"]
    print(
        f"soak: {result['posted']} leads at {result['rate']:g}/s over {result['minutes']:g} min;"
        f" {result['failed']} answers not 2xx"
    )
    print(
        f"  emulator memory {settled:.0f} MB at minute {SETTLE_MINUTES:g}, {final:.0f} MB at "
        f"the end: {growth:+.1%}   {'PASS' if ok else 'FAIL'} <= {TARGET_GROWTH:+.0%}"
    )
    # The emulator holds the data in memory, so it grows with every lead stored; a leak shows
    # as each lead costing more memory later in the run than earlier.
    per_minute = result["rate"] * 60 / 1000  # thousands of leads a minute
    first, last = samples[0], samples[-1]
    if last[0] > SETTLE_MINUTES > first[0] and per_minute:
        early = (settled - first[1]) / ((SETTLE_MINUTES - first[0]) * per_minute)
        late = (final - settled) / ((last[0] - SETTLE_MINUTES) * per_minute)
        verdict = "follows the data" if late <= early * 1.2 else "grows faster than the data"
        print(
            f"  memory per 1,000 leads stored: {early:.0f} MB before minute {SETTLE_MINUTES:g},"
            f" {late:.0f} MB after: {verdict}"
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--start", action="store_true", help="start a fresh stack of its own")
    args = parser.parse_args(argv)
    with local_stack(start=args.start) as stack:
        result = soak(stack, args.minutes, args.rate)
    return 0 if report(result) else 1


if __name__ == "__main__":
    sys.exit(main())
